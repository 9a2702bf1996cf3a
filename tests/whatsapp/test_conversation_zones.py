"""Delivery zones in the chat: pins in and out of the area, typed addresses, the summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu
from tests.stores.test_zones_api import IN_WEST, OUTSIDE
from tests.stores.test_zones_geometry import WEST, polygon
from tests.whatsapp.test_conversation_support import Chat, body_text, kind_of, open_chat
from zapora.config import Settings
from zapora.customers.models import CustomerAddress
from zapora.db import utcnow
from zapora.money import format_money
from zapora.orders.errors import StoreClosedError
from zapora.orders.models import Order
from zapora.stores.models import DeliveryZone, Store, TypedAddressPolicy, ZoneKind
from zapora.whatsapp.conversation.payment import _explain_rejection
from zapora.whatsapp.conversation.state import ConversationState
from zapora.whatsapp.conversation.turn import Turn


async def add_zone(session: AsyncSession, store: Store, **values: Any) -> DeliveryZone:
    fields: dict[str, Any] = {
        "store_id": store.id,
        "name": "Oeste",
        "kind": ZoneKind.POLYGON.value,
        "geometry": polygon(WEST),
        "fee": 800,
        "minimum_order": 2500,
        "estimate_minutes": 45,
    }
    fields.update(values)
    zone = DeliveryZone(**fields)
    session.add(zone)
    await session.commit()
    return zone


async def cart_to_address(chat: Chat, menu: Menu) -> dict[str, Any]:
    """Put a large pizza (R$ 45,00) in the cart, choose delivery and return the address ask."""
    await chat.text("oi")
    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.large.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:1")
    fulfilment = await chat.one(await chat.tap("act:checkout"))
    assert "A taxa de entrega depende do seu endereço" in body_text(fulfilment)
    return await chat.one(await chat.tap("ful:delivery"))


async def orders(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


def money(amount: int) -> str:
    return format_money(amount, "BRL")


async def test_summary_matches_stored_order(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await add_zone(session, chat.store)
    await cart_to_address(chat, menu)

    payment = await chat.one(await chat.location(**IN_WEST, location_address="Rua A, 10"))
    assert "Entregamos aí: taxa de entrega R$ 8,00, em cerca de 45 min" in body_text(payment)
    assert "R$ 53,00" in body_text(payment)
    summary = body_text(await chat.one(await chat.tap("pay:pix")))
    await chat.tap("ok:confirm")

    order = await session.scalar(select(Order))
    assert order is not None
    assert order.delivery_fee == 800
    assert order.zone_minimum_order is not None
    assert order.estimate_minutes is not None
    assert f"Taxa de entrega: {money(order.delivery_fee)}" in summary
    assert (
        f"Região de entrega: {order.delivery_zone_name} "
        f"(pedido mínimo {money(order.zone_minimum_order)})"
    ) in summary
    assert f"Entrega estimada: cerca de {order.estimate_minutes} min" in summary
    assert f"Total: {money(order.total)}" in summary
    assert order.estimated_delivery_at == order.placed_at + timedelta(minutes=45)


async def test_pin_outside_area_offers_pickup(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await add_zone(session, chat.store)
    await cart_to_address(chat, menu)

    outside = await chat.one(await chat.location(**OUTSIDE))
    assert kind_of(outside) == "location_request_message"
    assert "fora da nossa área de entrega" in body_text(outside)
    assert "*retirada*" in body_text(outside)
    assert await orders(session) == 0
    assert await session.scalar(select(func.count()).select_from(CustomerAddress)) == 0

    payment = await chat.one(await chat.text("retirada"))
    assert "R$ 45,00" in body_text(payment)
    await chat.tap("pay:pix")
    await chat.tap("ok:confirm")
    order = await session.scalar(select(Order))
    assert order is not None
    assert order.fulfilment == "pickup"
    assert order.delivery_fee == 0


async def test_pin_before_checkout_looked_up(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    await add_zone(session, chat.store)
    await chat.text("oi")

    outside = await chat.one(await chat.location(**OUTSIDE))
    assert "fora da nossa área de entrega, então não a guardei" in body_text(outside)
    assert await session.scalar(select(func.count()).select_from(CustomerAddress)) == 0

    inside = await chat.one(await chat.location(**IN_WEST))
    assert "Localização recebida" in body_text(inside)
    assert "taxa de entrega R$ 8,00" in body_text(inside)
    assert await session.scalar(select(func.count()).select_from(CustomerAddress)) == 1


async def test_zone_minimum_in_chat(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await add_zone(session, chat.store, name="Longe", minimum_order=6000)
    await cart_to_address(chat, menu)

    replies = await chat.location(**IN_WEST)

    text = "\n".join(body_text(reply) for reply in replies)
    assert "O pedido mínimo para entrega em Longe é R$ 60,00" in text
    assert "faltam R$ 15,00" in text
    assert await orders(session) == 0


async def test_typed_address_fee_to_confirm(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await add_zone(session, chat.store)
    await cart_to_address(chat, menu)

    payment = await chat.one(await chat.text("Rua Augusta, 100, Consolação"))
    assert "A loja vai confirmar a taxa de entrega" in body_text(payment)
    summary = body_text(await chat.one(await chat.tap("pay:pix")))
    assert "Taxa de entrega: R$ 5,00 (provisória, a loja vai confirmar)" in summary
    await chat.tap("ok:confirm")

    order = await session.scalar(select(Order))
    assert order is not None
    assert order.fee_pending
    assert order.delivery_fee == chat.store.delivery_fee
    assert order.delivery_zone_id is None


async def test_typed_address_refused(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(
        session, settings, typed_address_policy=TypedAddressPolicy.REFUSE.value
    )
    await add_zone(session, chat.store)
    ask = await cart_to_address(chat, menu)
    assert "A taxa de entrega depende da sua localização" in body_text(ask)

    again = await chat.one(await chat.text("Rua Augusta, 100, Consolação"))
    assert kind_of(again) == "location_request_message"
    assert "depende da sua localização" in body_text(again)
    assert await session.scalar(select(func.count()).select_from(CustomerAddress)) == 0

    payment = await chat.one(await chat.location(**IN_WEST))
    assert "R$ 53,00" in body_text(payment)


async def test_no_zones_keeps_flat_fee(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    fulfilment = await chat.one(await chat.tap("act:checkout"))
    assert "A entrega custa R$ 5,00" in body_text(fulfilment)
    await chat.tap("ful:delivery")
    payment = await chat.one(await chat.text("Rua Augusta, 100, Consolação"))
    assert "confirmar a taxa" not in body_text(payment)
    assert "R$ 17,00" in body_text(payment)


async def test_closed_at_confirmation_names_opening(
    session: AsyncSession, settings: Settings
) -> None:
    chat, _ = await open_chat(session, settings)
    turn = Turn(
        session=session,
        settings=settings,
        store=chat.store,
        customer=chat.customer,
        state=ConversationState(),
    )
    error = StoreClosedError("closed", opens_next_at=utcnow() + timedelta(days=1))

    await _explain_rejection(turn, error)

    [reply] = turn.finish()
    assert "A loja fechou antes da confirmação" in body_text(reply)
    assert "Abrimos de novo amanhã às" in body_text(reply)
