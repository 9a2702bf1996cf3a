"""Fixtures for the WhatsApp tests: a store with a menu, fresh-session reads, extra apps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_menu, make_store
from zapora.app import create_app
from zapora.config import Settings
from zapora.stores.models import Store
from zapora.whatsapp.inbox import store_delivery
from zapora.whatsapp.payloads import WebhookPayload

_Row = TypeVar("_Row")


@pytest.fixture
def session_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


@pytest.fixture
async def store(session: AsyncSession) -> Store:
    """A committed store with the test menu, reachable on its own phone number id."""
    shop = await make_store(session)
    await make_menu(session, shop)
    await session.commit()
    return shop


async def fetch_all(
    session_factory: async_sessionmaker[AsyncSession],
    model: type[_Row],
    *where: ColumnElement[bool],
    order_by: Any = None,
) -> list[_Row]:
    """Read rows in a fresh session, so the result contains what the application committed."""
    async with session_factory() as fresh:
        query = select(model).where(*where)
        if order_by is not None:
            query = query.order_by(order_by)
        return list(await fresh.scalars(query))


async def count(
    session_factory: async_sessionmaker[AsyncSession],
    model: type[Any],
    *where: ColumnElement[bool],
) -> int:
    async with session_factory() as fresh:
        total = await fresh.scalar(select(func.count()).select_from(model).where(*where))
        return int(total or 0)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Serve another application instance on the same database, as another replica would."""
    application = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.engine.dispose()


REJECTED_SLUG_PREFIX = "rejects-conversations-"

# The prefix is repeated literally in the trigger bodies below.
_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER IF NOT EXISTS test_reject_conversation_insert
    BEFORE INSERT ON conversations
    WHEN (SELECT slug FROM stores WHERE id = NEW.store_id) LIKE 'rejects-conversations-%'
    BEGIN SELECT RAISE(ABORT, 'conversation writes are rejected for this store'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS test_reject_conversation_update
    BEFORE UPDATE ON conversations
    WHEN (SELECT slug FROM stores WHERE id = NEW.store_id) LIKE 'rejects-conversations-%'
    BEGIN SELECT RAISE(ABORT, 'conversation writes are rejected for this store'); END
    """,
]
_POSTGRES_TRIGGER = [
    """
    CREATE OR REPLACE FUNCTION test_reject_conversation() RETURNS trigger AS $$
    BEGIN
        IF (SELECT slug FROM stores WHERE id = NEW.store_id) LIKE 'rejects-conversations-%' THEN
            RAISE EXCEPTION 'conversation writes are rejected for this store';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS test_reject_conversation ON conversations",
    """
    CREATE TRIGGER test_reject_conversation BEFORE INSERT OR UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION test_reject_conversation()
    """,
]
_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS test_reject_conversation_insert",
        "DROP TRIGGER IF EXISTS test_reject_conversation_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS test_reject_conversation ON conversations",
        "DROP FUNCTION IF EXISTS test_reject_conversation()",
    ],
}


async def _execute_all(factory: async_sessionmaker[AsyncSession], statements: list[str]) -> None:
    async with factory() as fresh, fresh.begin():
        for statement in statements:
            await fresh.execute(text(statement))


@pytest.fixture
async def rejecting_store(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Store]:
    """A store whose conversation rows the database refuses to write.

    A trigger rejects every insert or update of ``conversations`` for stores whose slug
    starts with ``REJECTED_SLUG_PREFIX``, so handling any message of this store fails
    inside the conversation engine, the way a database error would. Renaming the store
    lifts the rejection.
    """
    await _execute_all(
        session_factory, _SQLITE_TRIGGERS if backend == "sqlite" else _POSTGRES_TRIGGER
    )
    shop = await make_store(session, slug=f"{REJECTED_SLUG_PREFIX}{uuid.uuid4().hex[:8]}")
    await make_menu(session, shop)
    await session.commit()
    try:
        yield shop
    finally:
        await _execute_all(session_factory, _DROP[backend])


async def store_without_processing(
    factory: async_sessionmaker[AsyncSession], payload: dict[str, Any]
) -> list[uuid.UUID]:
    """Store a delivery as the webhook does but stop before processing, as after a crash."""
    async with factory() as fresh:
        delivery = await store_delivery(fresh, WebhookPayload.model_validate(payload))
        await fresh.commit()
    return delivery.pending_ids
