"""A request's session commits what it wrote and skips the commit when it only read."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_store
from zapora.db import finish, session_wrote
from zapora.stores.models import Store


def _factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


async def _store_count(app: FastAPI) -> int:
    async with _factory(app)() as fresh:
        return int(await fresh.scalar(select(func.count()).select_from(Store)) or 0)


async def test_read_only_session_not_written(app: FastAPI) -> None:
    async with _factory(app)() as session:
        await session.scalar(select(func.count()).select_from(Store))
        wrote = session_wrote(session)
        await finish(session)

    assert wrote is False


async def test_flushed_rows_are_committed(app: FastAPI) -> None:
    async with _factory(app)() as session:
        await make_store(session)
        wrote = session_wrote(session)
        await finish(session)

    assert wrote is True
    assert await _store_count(app) == 1


async def test_unflushed_rows_are_committed(app: FastAPI) -> None:
    async with _factory(app)() as session:
        session.add(Store(slug="unflushed", name="Unflushed", whatsapp_phone_number_id="pn-x"))
        await finish(session)

    assert await _store_count(app) == 1


async def test_executed_update_is_committed(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()

    async with _factory(app)() as writer:
        await writer.execute(update(Store).where(Store.id == store.id).values(name="Renamed"))
        await finish(writer)

    async with _factory(app)() as fresh:
        assert await fresh.scalar(select(Store.name).where(Store.id == store.id)) == "Renamed"


async def test_text_statement_counts_as_write(app: FastAPI) -> None:
    async with _factory(app)() as session:
        await session.execute(text("UPDATE stores SET name = name"))
        wrote = session_wrote(session)
        await finish(session)

    assert wrote is True
