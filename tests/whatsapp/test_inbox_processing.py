"""Processing stored messages: the worker sweep, per-customer order, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from tests.whatsapp.conftest import count, fetch_all, store_without_processing
from tests.whatsapp.payloads import envelope, post_webhook, text_message
from zapora.db import create_engine, create_session_factory, utcnow
from zapora.outbox.models import OutboxMessage
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.whatsapp.processing import process_inbound, sweep_inbox

SENT_AT = 1_764_806_400


async def _set_next_attempt(session_factory, inbound_id, when) -> None:
    async with session_factory() as fresh, fresh.begin():
        await fresh.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(next_attempt_at=when)
        )


async def _load(session_factory, inbound_id) -> InboundMessage:
    [row] = await fetch_all(session_factory, InboundMessage, InboundMessage.id == inbound_id)
    return row


async def test_sweep_processes_stored_message(settings, store, session_factory):
    [inbound_id] = await store_without_processing(
        session_factory, envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
    )
    assert (await _load(session_factory, inbound_id)).status == InboxStatus.PENDING.value

    picked = await sweep_inbox(settings, session_factory)

    assert picked == 1
    row = await _load(session_factory, inbound_id)
    assert row.status == InboxStatus.PROCESSED.value
    assert row.attempts == 0
    assert await count(session_factory, OutboxMessage) > 0
    assert await sweep_inbox(settings, session_factory) == 0


async def test_sweep_waits_until_due(settings, store, session_factory):
    [inbound_id] = await store_without_processing(
        session_factory, envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
    )
    await _set_next_attempt(session_factory, inbound_id, utcnow() + timedelta(hours=1))

    assert await sweep_inbox(settings, session_factory) == 0
    assert (await _load(session_factory, inbound_id)).status == InboxStatus.PENDING.value

    await _set_next_attempt(session_factory, inbound_id, utcnow() - timedelta(seconds=1))
    assert await sweep_inbox(settings, session_factory) == 1
    assert (await _load(session_factory, inbound_id)).status == InboxStatus.PROCESSED.value


async def test_sweep_takes_oldest_first(settings, store, session_factory):
    messages = [
        text_message("Oi", wa_id=f"552195555000{index}", timestamp=SENT_AT - index)
        for index in range(3)
    ]
    await store_without_processing(
        session_factory, envelope(store.whatsapp_phone_number_id, messages)
    )

    assert await sweep_inbox(settings, session_factory, limit=2) == 2

    [left] = await fetch_all(
        session_factory, InboundMessage, InboundMessage.status == InboxStatus.PENDING.value
    )
    assert left.wa_id == "5521955550000"


async def test_older_message_of_customer_processed_first(settings, store, session_factory):
    phone_number_id = store.whatsapp_phone_number_id
    [newer_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("menu", timestamp=SENT_AT + 5)])
    )
    [older_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("Oi", timestamp=SENT_AT)])
    )

    await process_inbound(settings, session_factory, newer_id)

    older = await _load(session_factory, older_id)
    newer = await _load(session_factory, newer_id)
    assert older.status == InboxStatus.PROCESSED.value
    assert newer.status == InboxStatus.PROCESSED.value
    assert older.processed_at < newer.processed_at


async def test_same_second_messages_keep_arrival_order(settings, store, session_factory):
    phone_number_id = store.whatsapp_phone_number_id
    [first_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("Oi", timestamp=SENT_AT)])
    )
    [second_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("menu", timestamp=SENT_AT)])
    )

    await process_inbound(settings, session_factory, second_id)

    first = await _load(session_factory, first_id)
    second = await _load(session_factory, second_id)
    assert first.processed_at < second.processed_at


async def test_newer_message_waits_for_its_turn(settings, store, session_factory):
    phone_number_id = store.whatsapp_phone_number_id
    [older_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("Oi", timestamp=SENT_AT)])
    )
    [newer_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("menu", timestamp=SENT_AT + 5)])
    )

    await process_inbound(settings, session_factory, older_id)

    assert (await _load(session_factory, older_id)).status == InboxStatus.PROCESSED.value
    assert (await _load(session_factory, newer_id)).status == InboxStatus.PENDING.value


async def test_processing_again_has_no_effect(client, settings, store, session_factory):
    await post_webhook(client, envelope(store.whatsapp_phone_number_id, [text_message("Oi")]))
    [row] = await fetch_all(session_factory, InboundMessage)
    replies = await count(session_factory, OutboxMessage)

    await process_inbound(settings, session_factory, row.id)

    assert replies > 0
    assert await count(session_factory, OutboxMessage) == replies
    assert (await _load(session_factory, row.id)).processed_at == row.processed_at


async def test_concurrent_workers_process_once(client, settings, store, session_factory):
    phone_number_id = store.whatsapp_phone_number_id
    await post_webhook(
        client, envelope(phone_number_id, [text_message("Oi", wa_id="5521955550001")])
    )
    replies_for_one_message = await count(session_factory, OutboxMessage)
    [inbound_id] = await store_without_processing(
        session_factory, envelope(phone_number_id, [text_message("Oi", wa_id="5521955550002")])
    )
    other_engine = create_engine(settings.resolved_database_url)
    try:
        other_factory = create_session_factory(other_engine)
        await asyncio.gather(
            process_inbound(settings, session_factory, inbound_id),
            process_inbound(settings, other_factory, inbound_id),
        )
    finally:
        await other_engine.dispose()

    row = await _load(session_factory, inbound_id)
    assert row.status == InboxStatus.PROCESSED.value
    assert row.attempts == 0
    replies = await count(session_factory, OutboxMessage, OutboxMessage.to == "5521955550002")
    assert replies == replies_for_one_message
