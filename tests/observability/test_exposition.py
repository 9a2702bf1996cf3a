"""``GET /metrics``: database pool gauges and the outbox figures read at scrape time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool, StaticPool

from tests.conftest import make_settings
from tests.factories import make_store
from tests.observability.conftest import sample_value, scrape
from zapora.app import create_app
from zapora.db import create_engine, utcnow
from zapora.observability.pool_metrics import pool_capacity
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.service import enqueue

IN_USE = "zapora_db_pool_connections_in_use"
OPEN = "zapora_db_pool_connections_open"
CAPACITY = "zapora_db_pool_capacity"


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    """Keep engines of earlier tests from being collected, and their gauges moved, mid-test."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_pool_in_use_follows_checkouts(app: FastAPI, client: httpx.AsyncClient) -> None:
    before = sample_value(await scrape(client), IN_USE)
    assert before is not None

    async with app.state.engine.connect():
        holding = sample_value(await scrape(client), IN_USE)

    after = sample_value(await scrape(client), IN_USE)
    # The scrape's own outbox query has returned its connection before rendering.
    assert holding == before + 1
    assert after == before


@pytest.mark.usefixtures("no_garbage_collection")
async def test_pool_open_connections_counted(app: FastAPI, client: httpx.AsyncClient) -> None:
    await app.state.engine.dispose()
    before = sample_value(await scrape(client), OPEN)
    assert before is not None

    async with app.state.engine.connect(), app.state.engine.connect():
        during = sample_value(await scrape(client), OPEN)
    await app.state.engine.dispose()
    after = sample_value(await scrape(client), OPEN)

    assert during is not None
    # Two held connections, plus the one the scrape opens for its outbox query.
    assert during >= before + 2
    assert after is not None
    assert after <= during - 2


@pytest.mark.usefixtures("no_garbage_collection")
async def test_pool_capacity_added_per_engine(client: httpx.AsyncClient, database_url: str) -> None:
    before = sample_value(await scrape(client), CAPACITY)
    assert before is not None

    second = create_app(make_settings(database_url))
    try:
        with_second = sample_value(await scrape(client), CAPACITY)
    finally:
        await second.state.engine.dispose()

    expected = pool_capacity(second.state.engine.sync_engine.pool)
    assert expected == 15
    assert with_second == before + expected


async def test_pool_capacity_by_pool_kind(tmp_path: Path) -> None:
    memory = create_engine("sqlite+aiosqlite:///:memory:")
    unbounded = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert isinstance(memory.sync_engine.pool, StaticPool)
        assert pool_capacity(memory.sync_engine.pool) == 1
        null_pool = NullPool(creator=lambda: None)
        assert pool_capacity(null_pool) == 0
        assert pool_capacity(unbounded.sync_engine.pool) == 15
    finally:
        await memory.dispose()
        await unbounded.dispose()


async def test_outbox_depth_and_oldest_age(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    empty = await scrape(client)
    assert sample_value(empty, "zapora_outbox_pending_messages") == 0
    assert sample_value(empty, "zapora_outbox_oldest_pending_age_seconds") == 0

    store = await make_store(session)
    old = await enqueue(session, store_id=store.id, to="5511955550001", body={"type": "text"})
    await enqueue(session, store_id=store.id, to="5511955550002", body={"type": "text"})
    sent = await enqueue(session, store_id=store.id, to="5511955550003", body={"type": "text"})
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == old.id)
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == sent.id)
        .values(status=OutboxStatus.SENT.value, created_at=utcnow() - timedelta(hours=5))
    )
    await session.commit()

    exposition = await scrape(client)
    assert sample_value(exposition, "zapora_outbox_pending_messages") == 2
    age = sample_value(exposition, "zapora_outbox_oldest_pending_age_seconds")
    assert age is not None
    assert 600 <= age < 700


async def test_metrics_survive_unreachable_database(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'zapora.db'}")
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            exposition = await scrape(http)
    finally:
        await application.state.engine.dispose()

    assert "zapora_http_requests_total" in exposition
    assert "zapora_outbox_pending_messages" not in exposition
