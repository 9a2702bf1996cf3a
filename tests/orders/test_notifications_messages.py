"""Staff read every message sent about an order, with its delivery progress."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_user
from tests.orders.builders import Shop, make_customer, place_customer_order
from tests.whatsapp.test_conversation_support import open_chat
from zapora.auth.models import Role
from zapora.config import Settings
from zapora.db import utcnow
from zapora.orders.models import Fulfilment, Order
from zapora.outbox.models import OutboxMessage, OutboxStatus

FIELDS = {
    "id",
    "kind",
    "summary",
    "status",
    "attempts",
    "error_code",
    "error_message",
    "graph_message_id",
    "delivery_status",
    "delivery_status_at",
    "created_at",
    "sent_at",
}


def _messages_url(shop: Shop, order_id: object) -> str:
    return f"{shop.order_url(order_id)}/messages"


async def _order_with_messages(session: AsyncSession, shop: Shop) -> Order:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(
        session, shop.store, shop.menu, customer, fulfilment=Fulfilment.PICKUP
    )
    now = utcnow()
    common = {"store_id": shop.store.id, "customer_id": customer.id, "to": customer.wa_id}
    session.add_all(
        [
            OutboxMessage(
                **common,
                order_id=order.id,
                kind="status",
                body={"type": "text", "text": {"body": "Seu pedido\n#1 foi aceito."}},
                status=OutboxStatus.SENT.value,
                attempts=1,
                graph_message_id="wamid.sent-1",
                delivery_status="read",
                delivery_status_at=now,
                created_at=now - timedelta(minutes=2),
                sent_at=now - timedelta(minutes=2),
            ),
            OutboxMessage(
                **common,
                order_id=order.id,
                kind="delay",
                body={
                    "type": "template",
                    "template": {
                        "name": "order_update",
                        "language": {"code": "pt_BR"},
                        "components": [
                            {"type": "body", "parameters": [{"type": "text", "text": "#1"}]}
                        ],
                    },
                },
                status=OutboxStatus.FAILED.value,
                attempts=1,
                error_code=132001,
                error_message="Graph API returned HTTP 404: Template name does not exist",
                created_at=now - timedelta(minutes=1),
            ),
            # A message about nothing in particular is not listed.
            OutboxMessage(**common, body={"type": "text", "text": {"body": "Oi"}}),
        ]
    )
    await session.commit()
    return order


async def test_lists_order_messages_with_delivery_status(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _order_with_messages(session, shop)

    response = await client.get(_messages_url(shop, order.id), headers=shop.headers)

    assert response.status_code == 200, response.text
    sent, failed = response.json()
    assert set(sent) == FIELDS
    assert sent["kind"] == "status"
    assert sent["summary"] == "Seu pedido #1 foi aceito."
    assert sent["status"] == "sent"
    assert sent["graph_message_id"] == "wamid.sent-1"
    assert sent["delivery_status"] == "read"
    assert sent["delivery_status_at"] is not None
    assert sent["sent_at"] is not None
    assert failed["kind"] == "delay"
    assert failed["summary"] == "template order_update: #1"
    assert failed["status"] == "failed"
    assert failed["error_code"] == 132001
    assert "Template name does not exist" in failed["error_message"]
    assert failed["sent_at"] is None


async def test_staff_without_manager_role_can_read(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _order_with_messages(session, shop)
    staff = await make_user(session, shop.store, Role.STORE_STAFF)
    courier = await make_user(session, shop.store, Role.COURIER)
    await session.commit()

    as_staff = await client.get(_messages_url(shop, order.id), headers=await login(client, staff))
    as_courier = await client.get(
        _messages_url(shop, order.id), headers=await login(client, courier)
    )

    assert as_staff.status_code == 200, as_staff.text
    assert len(as_staff.json()) == 2
    assert as_courier.status_code == 403


async def test_other_store_cannot_read_messages(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, other_shop: Shop
) -> None:
    order = await _order_with_messages(session, shop)

    intruder = await client.get(_messages_url(shop, order.id), headers=other_shop.headers)
    own_path = await client.get(_messages_url(other_shop, order.id), headers=other_shop.headers)
    unknown = await client.get(_messages_url(shop, uuid.uuid4()), headers=shop.headers)

    for response in (intruder, own_path, unknown):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


async def test_placement_messages_carry_the_order(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    chat, menu = await open_chat(
        session, settings, pix_key="+5548999990000", pix_merchant_city="Florianópolis"
    )
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")
    await chat.tap("ok:confirm")

    order = await session.scalar(select(Order))
    assert order is not None
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.order_id == order.id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
    )
    await session.commit()
    assert [row.kind for row in rows] == ["order_placed", "pix"]
    assert "#1" in rows[0].body["text"]["body"]
    earlier = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.order_id.is_(None)).limit(1)
    )
    await session.commit()
    assert earlier is not None
    assert earlier.kind == "reply"
