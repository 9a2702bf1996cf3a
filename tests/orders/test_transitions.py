"""Moving orders through their statuses and telling WhatsApp customers about it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import (
    CUSTOMER_WA_ID,
    Shop,
    delivery_body,
    make_customer,
    pickup_body,
    place_customer_order,
)
from zapora.orders.models import Fulfilment
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store
from zapora.whatsapp.texts import text


async def _create(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> str:
    response = await client.post(shop.orders_url, json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _move(
    client: httpx.AsyncClient, shop: Shop, order_id: object, status: str, reason: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return await client.post(
        f"{shop.order_url(order_id)}/transitions", json=body, headers=shop.headers
    )


async def _outbox(session: AsyncSession) -> list[OutboxMessage]:
    await session.commit()
    messages = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
    result = list(messages)
    await session.commit()
    return result


async def test_delivery_happy_path(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, delivery_body(shop.menu))
    steps = [
        ("accepted", ["preparing", "cancelled"]),
        ("preparing", ["ready", "cancelled"]),
        ("ready", ["out_for_delivery", "cancelled"]),
        ("out_for_delivery", ["delivered", "delivery_failed", "cancelled"]),
        ("delivered", []),
    ]

    for status, allowed in steps:
        response = await _move(client, shop, order_id, status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert response.json()["allowed_next"] == allowed

    events = response.json()["events"]
    assert [(event["from_status"], event["to_status"]) for event in events] == [
        (None, "placed"),
        ("placed", "accepted"),
        ("accepted", "preparing"),
        ("preparing", "ready"),
        ("ready", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    assert {event["actor_id"] for event in events} == {str(shop.user.id)}
    assert {event["actor_type"] for event in events} == {"staff"}


async def test_pickup_happy_path(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, pickup_body(shop.menu))
    steps = [
        ("accepted", ["preparing", "cancelled"]),
        ("preparing", ["ready", "cancelled"]),
        ("ready", ["picked_up", "cancelled"]),
        ("picked_up", []),
    ]

    for status, allowed in steps:
        response = await _move(client, shop, order_id, status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert response.json()["allowed_next"] == allowed

    assert len(response.json()["events"]) == 5


async def test_invalid_transition_lists_allowed(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, delivery_body(shop.menu))

    response = await _move(client, shop, order_id, "delivered")

    assert response.status_code == 409
    problem = response.json()
    assert problem["current_status"] == "placed"
    assert problem["allowed"] == ["accepted", "cancelled"]
    assert problem["errors"][0]["field"] == "status"
    order = (await client.get(shop.order_url(order_id), headers=shop.headers)).json()
    assert order["status"] == "placed"
    assert len(order["events"]) == 1


async def test_pickup_cannot_go_out_for_delivery(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, pickup_body(shop.menu))
    for status in ["accepted", "preparing", "ready"]:
        await _move(client, shop, order_id, status)

    response = await _move(client, shop, order_id, "out_for_delivery")

    assert response.status_code == 409
    assert response.json()["allowed"] == ["picked_up", "cancelled"]


async def test_final_order_allows_nothing(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, pickup_body(shop.menu))
    await _move(client, shop, order_id, "cancelled", reason="customer left")

    response = await _move(client, shop, order_id, "accepted")

    assert response.status_code == 409
    assert response.json()["allowed"] == []


async def test_cancel_needs_reason(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, delivery_body(shop.menu))

    for reason in [None, "   "]:
        response = await _move(client, shop, order_id, "cancelled", reason=reason)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "reason"

    response = await _move(client, shop, order_id, "cancelled", reason="out of dough")
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "out of dough"
    assert order["events"][-1]["reason"] == "out of dough"


async def test_transition_rejects_invalid_body(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = await _create(client, shop, delivery_body(shop.menu))
    url = f"{shop.order_url(order_id)}/transitions"
    cases = [
        ({"status": "shipped"}, "body.status"),
        ({"status": "accepted", "reason": "x" * 501}, "body.reason"),
        ({"status": "accepted", "actor_id": str(shop.user.id)}, "body.actor_id"),
        ({}, "body.status"),
    ]

    for body, field in cases:
        response = await client.post(url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_transition_unknown_order(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await _move(client, shop, "3fa85f64-5717-4562-b3fc-2c963f66afa6", "accepted")

    assert response.status_code == 404


async def test_customer_order_queues_status_text(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(session, shop.store, shop.menu, customer)
    await session.commit()

    response = await _move(client, shop, order.id, "accepted")

    assert response.status_code == 200, response.text
    [message] = await _outbox(session)
    assert message.to == CUSTOMER_WA_ID
    assert message.customer_id == customer.id
    assert message.store_id == shop.store.id
    assert message.status == "pending"
    expected = text("pt-BR", "order_status.accepted", number=order.number)
    assert message.body == {"type": "text", "text": {"body": expected}}
    assert f"#{order.number}" in expected


async def test_customer_pickup_ready_text(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await session.execute(update(Store).where(Store.id == shop.store.id).values(language="en"))
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(
        session, shop.store, shop.menu, customer, fulfilment=Fulfilment.PICKUP
    )
    await session.commit()

    for status in ["accepted", "preparing", "ready"]:
        assert (await _move(client, shop, order.id, status)).status_code == 200

    bodies = [message.body["text"]["body"] for message in await _outbox(session)]
    assert bodies == [
        f"Your order #{order.number} was accepted by the store. 👍",
        f"Your order #{order.number} is being prepared. 👩‍🍳",
        f"Your order #{order.number} is ready for pickup. 🛍️",
    ]


async def test_customer_cancel_text_has_reason(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(session, shop.store, shop.menu, customer)
    await session.commit()

    response = await _move(client, shop, order.id, "cancelled", reason="sem massa")

    assert response.status_code == 200, response.text
    [message] = await _outbox(session)
    assert message.body["text"]["body"] == (
        f"Seu pedido #{order.number} foi cancelado. Motivo: sem massa"
    )


async def test_failed_transition_queues_nothing(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(session, shop.store, shop.menu, customer)
    await session.commit()

    response = await _move(client, shop, order.id, "ready")

    assert response.status_code == 409
    assert await _outbox(session) == []


async def test_staff_order_queues_nothing(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    order_id = await _create(client, shop, delivery_body(shop.menu))

    response = await _move(client, shop, order_id, "accepted")

    assert response.status_code == 200
    assert await _outbox(session) == []
