"""Reading what customers send: nonsense, media, stray pins, commands, expiry, English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.whatsapp.test_conversation_support import (
    body_text,
    kind_of,
    open_chat,
    option_ids,
    option_titles,
)
from zapora.config import Settings
from zapora.customers.models import CustomerAddress
from zapora.db import utcnow
from zapora.orders.models import Order
from zapora.whatsapp.models import Conversation

NOT_UNDERSTOOD = "Não entendi. 🤔 Escolha uma das opções abaixo ou envie *ajuda*."


async def test_nonsense_repeats_question(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")

    at_menu = await chat.one(await chat.text("asdfgh"))
    assert body_text(at_menu).startswith(NOT_UNDERSTOOD)
    assert option_ids(at_menu) == [f"cat:{menu.category.id}"]

    out_of_range = await chat.one(await chat.text("7"))
    assert "Não há opção 7. Escolha um número de 1 a 1." in body_text(out_of_range)

    await chat.text("1")
    await chat.text("2")
    at_quantity = await chat.one(await chat.text("muitos"))
    assert "Quantidade inválida. Envie um número de 1 a 99." in body_text(at_quantity)
    assert option_ids(at_quantity) == ["qty:1", "qty:2", "qty:3"]
    for invalid in ("0", "100"):
        reply = await chat.one(await chat.text(invalid))
        assert "Quantidade inválida" in body_text(reply)
    added = await chat.one(await chat.text("12"))
    assert "12x Soda — R$ 72,00" in body_text(added)

    at_added = await chat.one(await chat.text("hmm"))
    assert body_text(at_added).startswith(NOT_UNDERSTOOD)
    assert option_ids(at_added) == ["act:cart", "act:more", "act:checkout"]

    await chat.text("finalizar")
    at_fulfilment = await chat.one(await chat.text("talvez"))
    assert body_text(at_fulfilment).startswith(NOT_UNDERSTOOD)
    assert option_ids(at_fulfilment) == ["ful:delivery", "ful:pickup"]

    await chat.text("retirar")
    at_payment = await chat.one(await chat.text("cheque"))
    assert body_text(at_payment).startswith(NOT_UNDERSTOOD)
    assert option_ids(at_payment) == ["pay:cash", "pay:card_on_delivery", "pay:pix"]
    assert option_titles(at_payment)[1] == "Cartão na retirada"

    await chat.text("pix")
    at_confirm = await chat.one(await chat.text("?"))
    assert body_text(at_confirm).startswith(NOT_UNDERSTOOD)
    assert "Resumo do pedido" in body_text(at_confirm)


async def test_stale_tap_is_not_understood(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    reply = await chat.one(await chat.tap("pay:cash", "Dinheiro"))
    assert body_text(reply).startswith(NOT_UNDERSTOOD)
    assert option_ids(reply) == [f"cat:{menu.category.id}"]
    forged = await chat.one(await chat.tap("item:not-a-uuid"))
    assert "Esse item não está mais no cardápio." in body_text(forged)


@pytest.mark.parametrize("message_type", ["image", "audio", "sticker", "unknown"])
async def test_media_gets_hint(
    session: AsyncSession, settings: Settings, message_type: str
) -> None:
    chat, menu = await open_chat(session, settings)
    first = await chat.one(await chat.send(message_type))
    assert "entendo apenas mensagens de texto" in body_text(first)
    assert option_ids(first) == [f"cat:{menu.category.id}"]

    await chat.tap(f"item:{menu.soda.id}")
    later = await chat.one(await chat.send(message_type))
    assert kind_of(later) == "text"
    assert "escolhas de listas e botões e localizações" in body_text(later)
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.state == "quantity"


async def test_pin_outside_checkout(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    reply = await chat.one(await chat.location(-22.9068, -43.1729))
    assert "Localização recebida" in body_text(reply)
    assert option_ids(reply) == [f"cat:{menu.category.id}"]
    addresses = list(await session.scalars(select(CustomerAddress)))
    assert [(address.latitude, address.longitude) for address in addresses] == [
        (-22.9068, -43.1729)
    ]

    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    offer = await chat.one(await chat.tap("ful:delivery"))
    assert option_ids(offer) == ["addr:saved"]
    assert "localização enviada (-22.90680, -43.17290)" in body_text(offer)
    await chat.tap("addr:saved")
    await chat.tap("pay:pix")
    await chat.tap("ok:confirm")
    order = await session.scalar(select(Order))
    assert order is not None
    assert (order.latitude, order.longitude) == (-22.9068, -43.1729)


async def test_pin_at_fulfilment_means_delivery(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    payment = await chat.one(await chat.location(-23.0, -46.0, location_address="Av. B, 20"))
    assert "Entrega em: Av. B, 20" in body_text(payment)
    assert "R$ 17,00" in body_text(payment)


async def test_cancel_keeps_cart(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    nothing = await chat.one(await chat.text("Cancelar"))
    assert body_text(nothing).startswith("Ok, cancelei o que estava em andamento.")
    assert "carrinho foi mantido" not in body_text(nothing)

    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:1")
    await chat.tap(f"item:{menu.pizza.id}")
    cancelled = await chat.one(await chat.text("CANCELAR!"))
    assert "Seu carrinho foi mantido (1 item);" in body_text(cancelled)
    assert option_ids(cancelled) == [f"cat:{menu.category.id}"]
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.data["pending"] is None
    assert len(conversation.data["cart"]) == 1


async def test_help_repeats_question(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    reply = await chat.one(await chat.text("Ajuda"))
    assert "Palavras que funcionam a qualquer momento" in body_text(reply)
    assert option_ids(reply) == ["qty:1", "qty:2", "qty:3"]


async def test_expired_conversation_starts_over(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:1")
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.expires_at > utcnow() + timedelta(minutes=59)
    conversation.expires_at = utcnow() - timedelta(minutes=1)
    await session.commit()

    reply = await chat.one(await chat.text("2"))
    assert body_text(reply).startswith("Seu carrinho anterior expirou")
    assert "Bem-vindo(a) à *Pizzaria Bella*" in body_text(reply)
    assert option_ids(reply) == [f"cat:{menu.category.id}"]
    await session.refresh(conversation)
    assert conversation.data["cart"] == []
    assert conversation.state == "menu"
    assert conversation.expires_at > utcnow()


async def test_english_store(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings, language="en")
    welcome = await chat.one(await chat.text("hello"))
    assert "Welcome to *Pizzaria Bella*" in body_text(welcome)
    assert welcome["interactive"]["action"]["button"] == "See menu"

    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.large.id}")
    skip = await chat.one(await chat.text("nonsense"))
    assert body_text(skip).startswith("Sorry, I did not understand.")
    assert option_titles(skip) == ["Cheese", "Skip"]
    await chat.text("skip")
    added = await chat.one(await chat.text("2"))
    assert "2x Margherita — R$ 90.00\n↳ Large" in body_text(added)
    assert option_titles(added) == ["View cart", "Add more", "Check out"]

    await chat.text("checkout")
    await chat.text("delivery")
    payment = await chat.one(await chat.text("12 Baker Street, Apt 3"))
    assert "Delivery to: 12 Baker Street, Apt 3" in body_text(payment)
    assert option_titles(payment) == ["Cash", "Card on delivery", "PIX"]
    change = await chat.one(await chat.text("cash"))
    assert "Do you need change?" in body_text(change)
    summary = await chat.one(await chat.text("no"))
    assert "Order summary" in body_text(summary)
    assert "Total: R$ 95.00" in body_text(summary)
    placed = await chat.one(await chat.text("yes"))
    assert "Order *#1* received! Total: R$ 95.00." in body_text(placed)
