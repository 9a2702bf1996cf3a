"""Checkout rules: change for cash, a closed store, unavailable items, rejected placement."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu
from tests.whatsapp.test_conversation_support import (
    Chat,
    body_text,
    kind_of,
    open_chat,
    option_ids,
)
from zapora.config import Settings
from zapora.orders.models import Order, OrderCounter, OrderEvent, OrderLine
from zapora.whatsapp.models import Conversation


async def _cart_to_payment(chat: Chat, menu: Menu) -> None:
    """Put two sodas and a small pizza in the cart and reach the payment for pickup."""
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.small.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:1")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")


async def test_cash_change_amounts(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)

    change = await chat.one(await chat.tap("pay:cash"))
    assert option_ids(change) == ["chg:none"]
    assert "Total: R$ 42,00" in body_text(change)

    too_low = await chat.one(await chat.text("40"))
    assert "R$ 40,00 é menos que o total de R$ 42,00" in body_text(too_low)
    assert option_ids(too_low) == ["chg:none"]

    garbled = await chat.one(await chat.text("uns trocados"))
    assert "Não entendi o valor" in body_text(garbled)

    amount_prompt = await chat.one(await chat.text("sim"))
    assert "Para quanto você precisa de troco?" in body_text(amount_prompt)

    summary = await chat.one(await chat.text("50,00"))
    assert "troco para R$ 50,00" in body_text(summary)

    # Going back to the payment and choosing no change clears the amount.
    await chat.text("finalizar")
    await chat.tap("ful:pickup")
    await chat.tap("pay:cash")
    summary = await chat.one(await chat.text("não"))
    assert "Pagamento: Dinheiro" in body_text(summary)
    assert "troco" not in body_text(summary)
    await chat.tap("ok:confirm")

    order = await session.scalar(select(Order))
    assert order is not None
    assert order.payment_method == "cash"
    assert order.change_for is None
    assert order.total == 4200


async def test_cash_change_with_currency_sign(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.text("1")
    summary = await chat.one(await chat.text("R$ 100"))
    assert "troco para R$ 100,00" in body_text(summary)
    await chat.text("confirmar")
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.change_for == 10000


async def test_closed_store_replies_and_keeps_cart(
    session: AsyncSession, settings: Settings
) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:1")

    chat.store.is_open = False
    await session.commit()
    for message in ("oi", "finalizar", "1"):
        closed = await chat.one(await chat.text(message))
        assert kind_of(closed) == "text"
        assert body_text(closed) == (
            "*Pizzaria Bella* está fechada agora. 😴 Tente de novo quando a loja abrir."
        )
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.state == "added"
    assert len(conversation.data["cart"]) == 1

    chat.store.is_open = True
    await session.commit()
    cart = await chat.one(await chat.text("carrinho"))
    assert "1x Soda — R$ 6,00" in body_text(cart)


async def test_closed_store_first_message(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings, is_open=False)
    closed = await chat.one(await chat.text("oi"))
    assert "está fechada agora" in body_text(closed)
    assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_unavailable_item_rejected(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    items = await chat.one(await chat.tap(f"cat:{menu.category.id}"))
    assert f"item:{menu.sold_out.id}" not in option_ids(items)

    # A tap on an older list that still showed the item.
    reply = await chat.one(await chat.tap(f"item:{menu.sold_out.id}", "Calzone"))
    assert "*Calzone* está indisponível no momento" in body_text(reply)
    assert option_ids(reply) == [f"item:{menu.pizza.id}", f"item:{menu.soda.id}", "act:menu"]


async def test_cart_item_becomes_unavailable(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    menu.soda.is_available = False
    await session.commit()

    reply = await chat.one(await chat.tap("act:checkout"))
    assert "Estes itens estão indisponíveis agora: Soda" in body_text(reply)
    assert kind_of(reply) == "list"
    cart = await chat.one(await chat.text("carrinho"))
    assert "2x Soda — R$ 12,00 (indisponível)" in body_text(cart)
    assert "Subtotal: R$ 30,00" in body_text(cart)


async def test_rejected_placement_writes_nothing(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    summary = await chat.one(await chat.tap("pay:pix"))
    assert option_ids(summary) == ["ok:confirm", "ok:cancel"]

    menu.soda.is_available = False
    await session.commit()
    reply = await chat.one(await chat.tap("ok:confirm"))
    assert "Um item do carrinho ficou indisponível" in body_text(reply)
    assert "2x Soda — R$ 12,00 (indisponível)" in body_text(reply)

    for model in (Order, OrderLine, OrderEvent):
        assert await session.scalar(select(func.count()).select_from(model)) == 0
    # No order number was spent.
    counter = await session.scalar(
        select(OrderCounter.last_number).where(OrderCounter.store_id == chat.store.id)
    )
    assert counter is None
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert len(conversation.data["cart"]) == 2

    # Removing the unavailable line lets the order through with catalog prices.
    removal = await chat.one(await chat.tap("act:remove"))
    await chat.tap(option_ids(removal)[0])
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")
    placed = await chat.one(await chat.tap("ok:confirm"))
    assert "#1" in body_text(placed)
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.total == 3000


async def test_minimum_raised_before_confirm(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.tap("pay:pix")
    chat.store.minimum_order = 10000
    await session.commit()

    reply = await chat.one(await chat.tap("ok:confirm"))
    assert "O pedido mínimo é R$ 100,00" in body_text(reply)
    assert "faltam R$ 58,00" in body_text(reply)
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_summary_cancel_keeps_cart(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.tap("pay:pix")
    reply = await chat.one(await chat.tap("ok:cancel"))
    assert "Seu carrinho foi mantido (3 itens);" in body_text(reply)
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.data["checkout"] is None
    assert len(conversation.data["cart"]) == 2
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
