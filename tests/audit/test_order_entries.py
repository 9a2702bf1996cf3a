"""Orders entered by staff or placed by customers, status changes and inbox retries."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.audit.conftest import Shop, assert_staff_entry, audit_entries, only_entry
from tests.orders.builders import delivery_body, pickup_body
from tests.whatsapp.test_conversation_support import Chat, open_chat
from zapora.audit.models import AuditEntry
from zapora.config import Settings
from zapora.db import utcnow
from zapora.stores.models import Store
from zapora.whatsapp.models import InboundMessage, InboxStatus


async def _create_order(client: httpx.AsyncClient, shop: Shop) -> str:
    response = await client.post(
        f"{shop.base}/orders", json=pickup_body(shop.menu), headers=shop.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_staff_order_recorded(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        f"{shop.base}/orders", json=delivery_body(shop.menu), headers=shop.headers
    )

    assert response.status_code == 201, response.text
    order = response.json()
    entry = await only_entry(session_factory)
    assert_staff_entry(entry, shop, "order.created", "order")
    assert entry.target_id == order["id"]
    assert entry.before is None
    assert entry.after == {
        "number": order["number"],
        "status": "placed",
        "source": "staff",
        "fulfilment": "delivery",
        "payment_method": "cash",
        "currency": "BRL",
        "total": 10900,
    }
    # The entry names the order but keeps none of the customer's details.
    assert "+5511955551234" not in str(entry.after)
    assert "Rua Augusta" not in str(entry.after)


async def test_idempotent_replay_not_recorded_again(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**shop.headers, "Idempotency-Key": str(uuid.uuid4())}
    url = f"{shop.base}/orders"

    first = await client.post(url, json=pickup_body(shop.menu), headers=headers)
    second = await client.post(url, json=pickup_body(shop.menu), headers=headers)

    assert first.status_code == 201, first.text
    assert second.headers["Idempotent-Replayed"] == "true"
    entry = await only_entry(session_factory)
    assert entry.action == "order.created"
    assert entry.target_id == first.json()["id"]


async def test_rejected_order_leaves_no_entry(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    url = f"{shop.base}/orders"
    sold_out = pickup_body(
        shop.menu, lines=[{"item_id": str(shop.menu.sold_out.id), "quantity": 1}]
    )
    below_minimum = pickup_body(
        shop.menu, lines=[{"item_id": str(shop.menu.soda.id), "quantity": 1}]
    )

    unavailable = await client.post(url, json=sold_out, headers=shop.headers)
    too_small = await client.post(url, json=below_minimum, headers=shop.headers)
    await session.execute(update(Store).where(Store.id == shop.store.id).values(is_open=False))
    await session.commit()
    closed = await client.post(url, json=pickup_body(shop.menu), headers=shop.headers)

    assert unavailable.status_code == 409, unavailable.text
    assert too_small.status_code == 422, too_small.text
    assert closed.status_code == 409, closed.text
    assert await audit_entries(session_factory) == []


async def test_transitions_recorded(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order_id = await _create_order(client, shop)
    url = f"{shop.base}/orders/{order_id}/transitions"

    accepted = await client.post(url, json={"status": "accepted"}, headers=shop.headers)
    cancelled = await client.post(
        url, json={"status": "cancelled", "reason": "out of dough"}, headers=shop.headers
    )

    assert accepted.status_code == 200, accepted.text
    assert cancelled.status_code == 200, cancelled.text
    entries = await audit_entries(session_factory, AuditEntry.action == "order.transitioned")
    assert len(entries) == 2
    for entry in entries:
        assert_staff_entry(entry, shop, "order.transitioned", "order")
        assert entry.target_id == order_id
    assert entries[0].before == {"status": "placed"}
    assert entries[0].after == {"status": "accepted", "reason": None}
    assert entries[1].before == {"status": "accepted"}
    assert entries[1].after == {"status": "cancelled", "reason": "out of dough"}


async def test_rejected_transitions_leave_no_entry(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order_id = await _create_order(client, shop)
    url = f"{shop.base}/orders/{order_id}/transitions"

    skipped = await client.post(url, json={"status": "ready"}, headers=shop.headers)
    no_reason = await client.post(url, json={"status": "cancelled"}, headers=shop.headers)
    unknown = await client.post(url, json={"status": "eaten"}, headers=shop.headers)

    assert skipped.status_code == 409, skipped.text
    assert no_reason.status_code == 422, no_reason.text
    assert unknown.status_code == 422, unknown.text
    assert await audit_entries(session_factory, AuditEntry.action == "order.transitioned") == []


async def _chat_to_confirmation(session: AsyncSession, settings: Settings) -> Chat:
    """Fill a pickup order paid by Pix up to the confirmation question."""
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.small.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:1")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")
    return chat


async def test_customer_order_recorded(
    session: AsyncSession, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _chat_to_confirmation(session, settings)

    await chat.tap("ok:confirm")
    # The chat reads its replies in a new transaction, which holds SQLite's write lock.
    await session.commit()

    entry = await only_entry(session_factory)
    assert entry.action == "order.placed"
    assert entry.actor_type == "customer"
    assert entry.actor_id == chat.customer.id
    assert entry.actor_role is None
    assert entry.store_id == chat.store.id
    assert entry.target_type == "order"
    assert entry.after is not None
    assert entry.after["source"] == "whatsapp"
    assert entry.after["status"] == "placed"
    assert entry.after["total"] == 3000


async def test_rejected_customer_order_leaves_no_entry(
    session: AsyncSession, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _chat_to_confirmation(session, settings)
    await session.execute(update(Store).where(Store.id == chat.store.id).values(is_open=False))
    await session.commit()

    replies = await chat.tap("ok:confirm")
    await session.commit()

    assert replies, "the customer hears that the store is closed"
    assert await audit_entries(session_factory) == []


async def _inbound(session: AsyncSession, shop: Shop, status: InboxStatus) -> InboundMessage:
    message = InboundMessage(
        store_id=shop.store.id,
        message_id=f"wamid.{uuid.uuid4().hex}",
        wa_id="5511955551234",
        type="text",
        payload={"text": {"body": "Oi"}},
        sent_at=utcnow(),
        status=status.value,
        attempts=3,
        last_error="RuntimeError",
    )
    session.add(message)
    await session.commit()
    return message


async def test_inbox_retry_recorded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    dead = await _inbound(session, shop, InboxStatus.DEAD)
    processed = await _inbound(session, shop, InboxStatus.PROCESSED)
    inbox = f"{shop.base}/inbox"

    retried = await client.post(f"{inbox}/{dead.id}/retry", headers=shop.headers)
    not_dead = await client.post(f"{inbox}/{processed.id}/retry", headers=shop.headers)

    assert retried.status_code == 202, retried.text
    assert not_dead.status_code == 409, not_dead.text
    entry = await only_entry(session_factory)
    assert_staff_entry(entry, shop, "inbox.retried", "inbound_message")
    assert entry.target_id == str(dead.id)
    assert entry.before == {"status": "dead", "attempts": 3}
    assert entry.after == {"status": "pending", "attempts": 0}
