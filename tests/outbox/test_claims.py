"""Claiming: per-customer order, concurrent senders, leases, backoff and the log transport."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import make_settings
from tests.factories import make_store
from tests.graph_api import GraphApiStandIn
from tests.outbox.conftest import ACCESS_TOKEN, CUSTOMER, load, make_due, queue_message
from zapora.config import Settings, WhatsAppTransport
from zapora.db import create_engine, create_session_factory, utcnow
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.sender import claim_due, retry_delay_seconds, send_claimed, send_due
from zapora.outbox.transports import CloudTransport, LogTransport, build_transport

OTHER_CUSTOMER = "5521955554321"
CONCURRENT_SENDERS = 4
# Pending messages to distinct customers queued at once in the statistics test.
BURST_SIZE = 1000


def _text(body: str) -> dict[str, object]:
    return {"type": "text", "text": {"body": body}}


async def test_customer_messages_go_out_in_order(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    other_store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    first = await queue_message(session, store, body=_text("first"))
    second = await queue_message(session, store, body=_text("second"))
    other_customer = await queue_message(session, store, to=OTHER_CUSTOMER)
    same_number_other_store = await queue_message(session, other_store)

    assert await send_due(settings, session_factory, transport=transport) == 3
    assert sorted(graph_api.callback_data()) == sorted(
        [str(first.id), str(other_customer.id), str(same_number_other_store.id)]
    )
    assert (await load(session_factory, second.id)).status == OutboxStatus.PENDING.value

    assert await send_due(settings, session_factory, transport=transport) == 1
    assert graph_api.callback_data()[-1] == str(second.id)


async def test_backing_off_row_delays_newer_rows(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    slow_backoff = settings.model_copy(update={"outbox_backoff_base_seconds": 60.0})
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    first = await queue_message(session, store, body=_text("first"))
    second = await queue_message(session, store, body=_text("second"))
    graph_api.queue_error(131056, message="Pair rate limit hit")

    assert await send_due(slow_backoff, session_factory, transport=transport) == 1
    assert await send_due(slow_backoff, session_factory, transport=transport) == 0
    assert (await load(session_factory, second.id)).attempts == 0

    await make_due(session_factory, first.id)
    assert await send_due(slow_backoff, session_factory, transport=transport) == 1
    assert await send_due(slow_backoff, session_factory, transport=transport) == 1

    assert graph_api.callback_data() == [str(first.id), str(second.id)]


async def test_failed_row_releases_newer_rows(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    first = await queue_message(session, store, body=_text("first"))
    second = await queue_message(session, store, body=_text("second"))
    graph_api.queue_error(131026)

    assert await send_due(settings, session_factory, transport=transport) == 1
    assert await send_due(settings, session_factory, transport=transport) == 1

    assert (await load(session_factory, first.id)).status == OutboxStatus.FAILED.value
    assert (await load(session_factory, second.id)).status == OutboxStatus.SENT.value
    assert graph_api.callback_data() == [str(second.id)]


async def test_claim_respects_limit_and_age(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    queued = [await queue_message(session, store, to=f"55119555500{i:02d}") for i in range(5)]

    claimed = await claim_due(settings, session_factory, limit=3)

    assert [message.id for message in claimed] == [message.id for message in queued[:3]]
    assert all(message.access_token == ACCESS_TOKEN for message in claimed)
    assert ACCESS_TOKEN not in repr(claimed[0])
    leased = await load(session_factory, queued[0].id)
    assert leased.locked_until == claimed[0].lease_until
    assert leased.locked_until > utcnow() + timedelta(seconds=settings.outbox_lease_seconds - 5)


async def test_future_row_is_not_claimed(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    message.next_attempt_at = utcnow() + timedelta(minutes=5)
    await session.commit()

    assert await send_due(settings, session_factory, transport=transport) == 0
    assert graph_api.requests == []


async def test_expired_lease_is_claimed_again(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    # A sender claims the row and crashes before sending it.
    crashed = await claim_due(settings, session_factory, limit=10)
    assert [claimed.id for claimed in crashed] == [message.id]

    assert await send_due(settings, session_factory, transport=transport) == 0
    assert graph_api.requests == []

    # Time passes beyond the lease, as seen by the database and by the crashed sender.
    lease_end = utcnow() - timedelta(seconds=1)
    await _set_lease(session_factory, message.id, lease_end)
    stale = [replace(claimed, lease_until=lease_end) for claimed in crashed]
    assert await send_due(settings, session_factory, transport=transport) == 1

    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert graph_api.callback_data() == [str(message.id)]
    # A sender that resumes with an ended lease neither sends nor records anything.
    sent_late = await send_claimed(settings, session_factory, transport=transport, messages=stale)
    assert sent_late == 0
    assert len(graph_api.requests) == 1


async def test_result_needs_current_lease(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    slow_sender = await claim_due(settings, session_factory, limit=10)
    # Another sender took the row over, so it carries a different lease now.
    other_lease = utcnow() + timedelta(minutes=5)
    await _set_lease(session_factory, message.id, other_lease)

    recorded = await send_claimed(
        settings, session_factory, transport=transport, messages=slow_sender
    )

    assert recorded == 0
    row = await load(session_factory, message.id)
    assert row.status == OutboxStatus.PENDING.value
    assert row.locked_until == other_lease
    assert row.graph_message_id is None
    assert row.attempts == 0


async def test_concurrent_senders_send_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    customers = [f"551195555{i:04d}" for i in range(10)]
    queued: list[OutboxMessage] = []
    for round_number in range(3):
        for customer in customers:
            body = _text(f"message {round_number}")
            queued.append(await queue_message(session, store, to=customer, body=body))
    for _ in range(10):
        graph_api.queue_delay(0.05)

    await asyncio.gather(*(_drain(settings) for _ in range(CONCURRENT_SENDERS)))

    counts = Counter(graph_api.callback_data())
    assert len(counts) == 30
    assert set(counts.values()) == {1}
    assert set(counts) == {str(message.id) for message in queued}
    order = graph_api.callback_data()
    for customer in customers:
        expected = [str(message.id) for message in queued if message.to == customer]
        assert [item for item in order if item in expected] == expected
    wamids = {
        request.json["biz_opaque_callback_data"]: request.wamid for request in graph_api.requests
    }
    for message in queued:
        row = await load(session_factory, message.id)
        assert row.status == OutboxStatus.SENT.value
        assert row.attempts == 1
        assert row.graph_message_id == wamids[str(message.id)]


async def _drain(settings: Settings) -> None:
    """Run one sender, with its own engine, until no pending row is left."""
    engine = create_engine(settings.resolved_database_url)
    factory = create_session_factory(engine)
    transport = CloudTransport(settings)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if await send_due(settings, factory, transport=transport, limit=4):
                continue
            if await _pending_count(factory) == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("pending rows left after 60 s")
    finally:
        await transport.aclose()
        await engine.dispose()


async def _pending_count(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as fresh:
        count = await fresh.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING.value)
        )
        return int(count or 0)


async def _set_lease(
    factory: async_sessionmaker[AsyncSession], message_id: uuid.UUID, lease_until: datetime
) -> None:
    async with factory() as fresh, fresh.begin():
        await fresh.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(locked_until=lease_until)
        )


async def test_log_transport_marks_sent(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    graph_api: GraphApiStandIn,
) -> None:
    log_settings = settings.model_copy(update={"whatsapp_transport": WhatsAppTransport.LOG})
    # The log transport needs no credentials.
    store = await make_store(session, whatsapp_access_token=None)
    message = await queue_message(session, store, to=CUSTOMER)
    transport = build_transport(log_settings)
    assert isinstance(transport, LogTransport)

    assert await send_due(log_settings, session_factory, transport=transport) == 1

    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.graph_message_id is not None
    assert sent.graph_message_id.startswith("log.")
    assert sent.attempts == 1
    assert graph_api.requests == []


def test_default_transport_is_log() -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", whatsapp_transport=None)

    assert isinstance(build_transport(settings), LogTransport)


@pytest.mark.parametrize("attempts", range(1, 12))
def test_retry_delay_doubles_up_to_max(attempts: int) -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        outbox_backoff_base_seconds=2.0,
        outbox_backoff_max_seconds=600.0,
    )
    ceiling = min(2.0 * 2 ** (attempts - 1), 600.0)

    delay = retry_delay_seconds(settings, attempts)

    assert delay >= ceiling / 2
    assert delay <= ceiling


def test_retry_delay_survives_huge_attempts() -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", outbox_backoff_max_seconds=600.0)

    assert retry_delay_seconds(settings, 10_000) <= 600.0


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_claim_after_stale_statistics_reads_backlog_once(
    app: FastAPI,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    # Statistics taken while the table is empty, as after a quiet spell before a burst.
    async with app.state.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE outbox_messages")
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    await session.execute(
        insert(OutboxMessage),
        [
            {
                "store_id": store.id,
                "to": f"55119{index:08d}",
                "body": _text("oi"),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "created_at": utcnow(),
            }
            for index in range(BURST_SIZE)
        ],
    )
    await session.commit()
    queries: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM outbox_messages" in statement and statement.startswith("SELECT"):
            queries.append((statement, parameters))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        claimed = await claim_due(settings, session_factory, limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans: list[str] = []
    async with app.state.engine.connect() as connection:
        for statement, parameters in queries:
            plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plans.extend(row[0] for row in plan)

    assert len(claimed) == 50
    # A nested loop here would compare every pending row with every other one.
    assert not any("Nested Loop" in line for line in plans), "\n".join(plans)
