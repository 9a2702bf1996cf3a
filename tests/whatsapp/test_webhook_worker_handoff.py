"""Without inline processing the webhook only stores messages, and the worker replies."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import make_settings
from tests.whatsapp.conftest import count, fetch_all
from tests.whatsapp.payloads import envelope, post_webhook, text_message
from zapora.config import Settings
from zapora.outbox.models import OutboxMessage
from zapora.outbox.transports import LogTransport
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.worker import Worker

WAIT_SECONDS = 10.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    # On PostgreSQL the poll is far longer than the wait below, so only the NOTIFY sent by
    # the webhook's transaction can wake the worker in time. SQLite relies on the poll.
    poll = 0.05 if database_url.startswith("sqlite") else 600.0
    return make_settings(database_url, process_webhooks_inline=False, worker_poll_seconds=poll)


async def _wait_until_processed(session_factory) -> InboundMessage:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        [row] = await fetch_all(session_factory, InboundMessage)
        if row.status != InboxStatus.PENDING.value:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the message was still pending after {WAIT_SECONDS} s")


async def test_webhook_stores_without_processing(client, store, session_factory):
    payload = envelope(store.whatsapp_phone_number_id, [text_message("Oi")])

    response = await post_webhook(client, payload)

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 1
    [row] = await fetch_all(session_factory, InboundMessage)
    assert row.status == InboxStatus.PENDING.value
    assert await count(session_factory, OutboxMessage) == 0


async def test_worker_answers_stored_message(client, settings, store, session_factory):
    worker = Worker(settings, session_factory, transport=LogTransport())
    worker.start()
    try:
        # Let the first round find an empty inbox, so the message arrives while it waits.
        await asyncio.sleep(0.3)
        payload = envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
        response = await post_webhook(client, payload)
        assert response.status_code == 200
        row = await _wait_until_processed(session_factory)
    finally:
        await asyncio.wait_for(worker.stop(), timeout=WAIT_SECONDS)

    assert row.status == InboxStatus.PROCESSED.value
    replies = await fetch_all(session_factory, OutboxMessage)
    assert {reply.customer_id for reply in replies} == {row.customer_id}
