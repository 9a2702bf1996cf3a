"""Confirming the order: prices that change after the summary, and change amounts' bounds."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu
from tests.whatsapp.test_conversation_support import (
    Chat,
    body_text,
    open_chat,
    option_ids,
)
from zapora.config import Settings
from zapora.orders.models import Order
from zapora.whatsapp.models import Conversation

PRICES_CHANGED = "Os preços mudaram desde o resumo, então o pedido ainda não foi feito."
# Two sodas and a small pizza: R$ 42,00 for pickup, so change is capped at 100 times that.
CHANGE_LIMIT_TEXT = "O troco pode ser para no máximo R$ 4.200,00 neste pedido."


async def _cart_to_payment(chat: Chat, menu: Menu, fulfilment: str = "pickup") -> None:
    """Put two sodas and a small pizza in the cart and reach the payment question."""
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.small.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:1")
    await chat.tap("act:checkout")
    if fulfilment == "pickup":
        await chat.tap("ful:pickup")
    else:
        await chat.tap("ful:delivery")
        await chat.text("Rua das Flores, 123 - Centro")


async def _orders(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_price_change_asks_again(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    summary = await chat.one(await chat.tap("pay:pix"))
    assert "Total: R$ 42,00" in body_text(summary)

    menu.soda.price = 700
    await session.commit()
    again = await chat.one(await chat.tap("ok:confirm"))
    text = body_text(again)
    assert text.startswith(PRICES_CHANGED)
    assert "2x Soda — R$ 14,00" in text
    assert "Total: R$ 44,00" in text
    assert option_ids(again) == ["ok:confirm", "ok:cancel"]
    assert await _orders(session) == 0

    placed = await chat.one(await chat.tap("ok:confirm"))
    assert "Total: R$ 44,00" in body_text(placed)
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.total == 4400


async def test_fee_change_asks_again(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu, fulfilment="delivery")
    summary = await chat.one(await chat.tap("pay:pix"))
    assert "Taxa de entrega: R$ 5,00" in body_text(summary)

    chat.store.delivery_fee = 900
    await session.commit()
    again = await chat.one(await chat.tap("ok:confirm"))
    assert body_text(again).startswith(PRICES_CHANGED)
    assert "Taxa de entrega: R$ 9,00" in body_text(again)
    assert "Total: R$ 51,00" in body_text(again)
    assert await _orders(session) == 0

    await chat.text("sim")
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.delivery_fee == 900
    assert order.total == 5100


async def test_unchanged_prices_place_at_once(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.tap("pay:pix")
    # A price change undone before confirming leaves the summary true.
    menu.soda.price = 700
    await session.commit()
    menu.soda.price = 600
    await session.commit()
    placed = await chat.one(await chat.tap("ok:confirm"))
    assert "Pedido *#1* recebido! Total: R$ 42,00." in body_text(placed)


async def test_change_above_limit_asks_again(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.tap("pay:cash")

    for typed in ("50000000", "R$ 4.200,01", "9" * 5000, "1" * 20):
        reply = await chat.one(await chat.text(typed))
        assert body_text(reply).startswith(CHANGE_LIMIT_TEXT), typed
        assert option_ids(reply) == ["chg:none"]
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.state == "change"
    assert conversation.data["checkout"]["change_for"] is None

    summary = await chat.one(await chat.text("R$ 4.200,00"))
    assert "troco para R$ 4.200,00" in body_text(summary)
    await chat.tap("ok:confirm")
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.change_for == 420000


async def test_saved_huge_change_asks_again(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    await chat.tap("pay:cash")
    await chat.text("50")
    # An amount above the column's range, as an older version of the bot could store.
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    data = dict(conversation.data)
    data["checkout"] = {**data["checkout"], "change_for": 5_000_000_000}
    conversation.data = data
    await session.commit()

    reply = await chat.one(await chat.tap("ok:confirm"))
    assert body_text(reply).startswith(CHANGE_LIMIT_TEXT)
    assert option_ids(reply) == ["chg:none"]
    assert await _orders(session) == 0
    summary = await chat.one(await chat.text("100"))
    assert "troco para R$ 100,00" in body_text(summary)
    await chat.text("sim")
    assert await _orders(session) == 1


async def test_change_example_above_total(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await _cart_to_payment(chat, menu)
    change = await chat.one(await chat.tap("pay:cash"))
    assert "Total: R$ 42,00. Precisa de troco? Digite para quanto (por exemplo 50)" in body_text(
        change
    )
    amount = await chat.one(await chat.text("sim"))
    assert "Digite o valor, por exemplo 50." in body_text(amount)
    garbled = await chat.one(await chat.text("uns trocados"))
    assert "por exemplo 50 ou 50,00" in body_text(garbled)

    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.large.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    larger = await chat.one(await chat.tap("pay:cash"))
    # R$ 132,00: the example is the next multiple of 10 above the total.
    assert "Total: R$ 132,00" in body_text(larger)
    assert "(por exemplo 140)" in body_text(larger)
