"""A message whose processing keeps failing ends dead, with an apology and a staff retry."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import make_settings
from tests.factories import login, make_user
from tests.whatsapp.conftest import count, fetch_all
from tests.whatsapp.payloads import envelope, post_webhook, text_message
from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.whatsapp.processing import process_inbound, sweep_inbox
from zapora.whatsapp.texts import text

CUSTOMER = "5511955551234"


@pytest.fixture
def settings(database_url):
    return make_settings(database_url, inbox_max_attempts=2)


async def _inbound(session_factory) -> InboundMessage:
    [row] = await fetch_all(session_factory, InboundMessage)
    return row


async def test_first_failure_schedules_retry(client, rejecting_store, session_factory):
    response = await post_webhook(
        client, envelope(rejecting_store.whatsapp_phone_number_id, [text_message("Oi")])
    )

    assert response.status_code == 200
    row = await _inbound(session_factory)
    assert row.status == InboxStatus.PENDING.value
    assert row.attempts == 1
    assert row.last_error
    assert CUSTOMER not in row.last_error
    assert row.next_attempt_at > utcnow()
    assert await count(session_factory, OutboxMessage) == 0


async def test_repeated_failure_ends_dead_with_apology(
    client, settings, rejecting_store, session_factory
):
    await post_webhook(
        client, envelope(rejecting_store.whatsapp_phone_number_id, [text_message("Oi")])
    )
    row = await _inbound(session_factory)

    await process_inbound(settings, session_factory, row.id)

    row = await _inbound(session_factory)
    assert row.status == InboxStatus.DEAD.value
    assert row.attempts == 2
    [apology] = await fetch_all(session_factory, OutboxMessage)
    assert apology.to == CUSTOMER
    assert apology.customer_id == row.customer_id
    assert apology.body == {"type": "text", "text": {"body": text("pt-BR", "apology")}}
    assert await sweep_inbox(settings, session_factory) == 0


async def test_dead_message_listed_and_retried(
    client, settings, session, rejecting_store, session_factory
):
    manager = await make_user(session, rejecting_store)
    await session.commit()
    headers = await login(client, manager)
    await post_webhook(
        client, envelope(rejecting_store.whatsapp_phone_number_id, [text_message("Oi")])
    )
    row = await _inbound(session_factory)
    await process_inbound(settings, session_factory, row.id)
    inbox_path = f"/api/v1/stores/{rejecting_store.id}/inbox"

    listed = await client.get(inbox_path, params={"status": "dead"}, headers=headers)

    assert listed.status_code == 200
    [dead] = listed.json()
    assert dead["id"] == str(row.id)
    assert dead["message_id"] == row.message_id
    assert dead["wa_id"] == "*********1234"
    assert dead["type"] == "text"
    assert dead["status"] == "dead"
    assert dead["attempts"] == 2
    assert dead["last_error"] == row.last_error
    assert CUSTOMER not in listed.text

    retried = await client.post(f"{inbox_path}/{row.id}/retry", headers=headers)

    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    assert retried.json()["attempts"] == 0
    async with session_factory() as fresh, fresh.begin():
        await fresh.execute(
            update(Store).where(Store.id == rejecting_store.id).values(slug="repaired-store")
        )
    assert await sweep_inbox(settings, session_factory) == 1
    row = await _inbound(session_factory)
    assert row.status == InboxStatus.PROCESSED.value
    replies = await count(session_factory, OutboxMessage)
    assert replies > 1


async def test_failed_older_message_retried_first(
    client, settings, rejecting_store, session_factory
):
    phone_number_id = rejecting_store.whatsapp_phone_number_id
    now = int(time.time())
    await post_webhook(client, envelope(phone_number_id, [text_message("Oi", timestamp=now - 10)]))
    [older] = await fetch_all(session_factory, InboundMessage)
    async with session_factory() as fresh, fresh.begin():
        await fresh.execute(
            update(Store).where(Store.id == rejecting_store.id).values(slug="repaired-store")
        )
        await fresh.execute(
            update(InboundMessage)
            .where(InboundMessage.id == older.id)
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )

    await post_webhook(client, envelope(phone_number_id, [text_message("menu", timestamp=now - 5)]))

    rows = await fetch_all(session_factory, InboundMessage, order_by=InboundMessage.sent_at)
    assert [row.status for row in rows] == [InboxStatus.PROCESSED.value] * 2
    assert rows[0].processed_at < rows[1].processed_at
