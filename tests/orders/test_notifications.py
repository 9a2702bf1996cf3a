"""Order updates queued for the customer: text, template fallback, order id and flood control."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, make_customer, pickup_body, place_customer_order
from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.db import utcnow
from zapora.orders.models import Fulfilment, Order
from zapora.orders.notifications import notify_order_update
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.sender import send_due
from zapora.outbox.transports import LogTransport
from zapora.stores.models import Store


async def _customer_order(session: AsyncSession, shop: Shop) -> Order:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(
        session, shop.store, shop.menu, customer, fulfilment=Fulfilment.PICKUP
    )
    await session.commit()
    return order


async def _move(client: httpx.AsyncClient, shop: Shop, order_id: object, status: str) -> None:
    response = await client.post(
        f"{shop.order_url(order_id)}/transitions", json={"status": status}, headers=shop.headers
    )
    assert response.status_code == 200, response.text


async def _messages(session: AsyncSession, order: Order) -> list[OutboxMessage]:
    await session.commit()
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.order_id == order.id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    result = list(rows)
    await session.commit()
    return result


async def _set_template(session: AsyncSession, store: Store, parameters: list[str]) -> None:
    await session.execute(
        update(Store)
        .where(Store.id == store.id)
        .values(
            language="en",
            update_template_name="order_update",
            update_template_language="en_US",
            update_template_parameters=parameters,
        )
    )
    await session.commit()
    await session.refresh(store)


async def test_status_change_queues_text_and_template(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop, settings: Settings
) -> None:
    await _set_template(session, shop.store, ["order_number", "status", "store_name"])
    order = await _customer_order(session, shop)

    await _move(client, shop, order.id, "accepted")

    [message] = await _messages(session, order)
    assert message.kind == "status"
    assert message.status == OutboxStatus.PENDING.value
    assert message.to == "551155551234"
    assert message.body == {
        "type": "text",
        "text": {"body": f"Your order #{order.number} was accepted by the store. 👍"},
    }
    assert message.template_body == {
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": str(order.number)},
                        {"type": "text", "text": "accepted"},
                        {"type": "text", "text": shop.store.name},
                    ],
                }
            ],
        },
    }


async def test_template_fills_courier_and_tracking_values(
    session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    await _set_template(
        session, shop.store, ["courier_name", "handover_code", "tracking_url", "message"]
    )
    order = await _customer_order(session, shop)
    store = await session.get(Store, shop.store.id)
    assert store is not None

    message = await notify_order_update(
        session,
        store,
        order,
        kind="assignment",
        text_key="order_update.courier_assigned",
        courier_name="Bruno",
        handover_code="4821",
    )

    assert message is not None
    assert message.kind == "assignment"
    assert message.order_id == order.id
    text = message.body["text"]["body"]
    assert "Bruno" in text
    assert "4821" in text
    assert message.template_body is not None
    values = [
        parameter["text"]
        for parameter in message.template_body["template"]["components"][0]["parameters"]
    ]
    assert values[:2] == ["Bruno", "4821"]
    assert values[2].endswith(f"/track/{order.tracking_token}")
    # Template parameters may not hold line breaks.
    assert values[3] == " ".join(text.split())


async def test_unknown_template_parameter_leaves_no_template(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await _set_template(session, shop.store, ["order_number", "favourite_colour"])
    order = await _customer_order(session, shop)

    await _move(client, shop, order.id, "accepted")

    [message] = await _messages(session, order)
    assert message.template_body is None
    assert message.body["type"] == "text"


async def test_store_without_template_queues_text_only(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await _customer_order(session, shop)

    await _move(client, shop, order.id, "accepted")

    [message] = await _messages(session, order)
    assert message.template_body is None
    assert message.body["text"]["body"].startswith(f"Seu pedido #{order.number} foi aceito")


async def test_staff_order_without_customer_queues_nothing(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]

    await _move(client, shop, order_id, "accepted")

    await session.commit()
    assert list(await session.scalars(select(OutboxMessage))) == []


async def test_quick_changes_supersede_pending_update(
    app: FastAPI,
    session: AsyncSession,
    client: httpx.AsyncClient,
    shop: Shop,
    settings: Settings,
) -> None:
    order = await _customer_order(session, shop)

    await _move(client, shop, order.id, "accepted")
    await _move(client, shop, order.id, "preparing")
    await _move(client, shop, order.id, "ready")

    messages = await _messages(session, order)
    assert [message.status for message in messages] == [
        OutboxStatus.SUPERSEDED.value,
        OutboxStatus.SUPERSEDED.value,
        OutboxStatus.PENDING.value,
    ]
    immediate = settings.model_copy(update={"notification_merge_seconds": 0})
    sent = await send_due(immediate, app.state.session_factory, transport=LogTransport())
    assert sent == 1
    latest = (await _messages(session, order))[-1]
    assert latest.status == OutboxStatus.SENT.value
    assert latest.body["text"]["body"].startswith(f"Seu pedido #{order.number} está pronto")


async def test_claimed_or_sent_update_is_not_superseded(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await _customer_order(session, shop)
    await _move(client, shop, order.id, "accepted")
    await _move(client, shop, order.id, "preparing")
    first, second = await _messages(session, order)
    # The first went out; the second is held by a sender right now.
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == first.id)
        .values(status=OutboxStatus.SENT.value)
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == second.id)
        .values(locked_until=utcnow() + timedelta(seconds=60))
    )
    await session.commit()

    await _move(client, shop, order.id, "ready")

    statuses = [message.status for message in await _messages(session, order)]
    assert statuses == [
        OutboxStatus.SENT.value,
        OutboxStatus.PENDING.value,
        OutboxStatus.PENDING.value,
    ]


async def test_status_update_does_not_supersede_other_kinds(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await _customer_order(session, shop)
    store = await session.get(Store, shop.store.id)
    assert store is not None
    assignment = await notify_order_update(
        session,
        store,
        order,
        kind="assignment",
        text_key="order_update.courier_assigned",
        courier_name="Bruno",
        handover_code="4821",
    )
    assert assignment is not None
    await session.commit()

    await _move(client, shop, order.id, "accepted")

    messages = await _messages(session, order)
    assert [(message.kind, message.status) for message in messages] == [
        ("assignment", OutboxStatus.PENDING.value),
        ("status", OutboxStatus.PENDING.value),
    ]


async def test_other_orders_updates_are_kept(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    first = await _customer_order(session, shop)
    customer = await session.get(Customer, first.customer_id)
    assert customer is not None
    second = await place_customer_order(
        session, shop.store, shop.menu, customer, fulfilment=Fulfilment.PICKUP
    )
    await session.commit()

    await _move(client, shop, first.id, "accepted")
    await _move(client, shop, second.id, "accepted")

    assert [m.status for m in await _messages(session, first)] == [OutboxStatus.PENDING.value]
    assert [m.status for m in await _messages(session, second)] == [OutboxStatus.PENDING.value]
