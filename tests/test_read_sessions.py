"""Routes marked as reading only get a session that runs no transaction and rejects writes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_store
from zapora.db import ReadOnlySessionError
from zapora.dependencies import SessionDep, reads_only
from zapora.stores.models import Store


def _read_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.read_session_factory
    return factory


async def _same_snapshot_twice(session: AsyncSession) -> bool:
    """Return whether two PostgreSQL statements apart in time ran in one transaction."""
    first = await session.scalar(select(func.transaction_timestamp()))
    await asyncio.sleep(0.02)
    second = await session.scalar(select(func.transaction_timestamp()))
    return bool(first == second)


async def _driver_in_transaction(session: AsyncSession) -> bool:
    """Return whether the SQLite connection is inside a transaction."""
    await session.scalar(select(func.count()).select_from(Store))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return bool(raw.driver_connection._conn.in_transaction)


async def test_read_session_transactions(app: FastAPI, backend: str) -> None:
    if backend == "postgresql":
        async with app.state.session_factory() as session:
            in_transaction = await _same_snapshot_twice(session)
        async with _read_factory(app)() as reader:
            read_in_transaction = await _same_snapshot_twice(reader)
    else:
        # SQLite keeps its transactions: they cost no round trip on a local file.
        async with app.state.session_factory() as session:
            in_transaction = await _driver_in_transaction(session)
        async with _read_factory(app)() as reader:
            read_in_transaction = await _driver_in_transaction(reader)

    assert in_transaction is True
    assert read_in_transaction is (backend == "sqlite")


async def test_read_session_rejects_flush(app: FastAPI) -> None:
    async with _read_factory(app)() as reader:
        reader.add(Store(slug="refused", name="Refused", whatsapp_phone_number_id="pn-refused"))
        with pytest.raises(ReadOnlySessionError):
            await reader.flush()

    async with app.state.session_factory() as fresh:
        assert await fresh.scalar(select(func.count()).select_from(Store)) == 0


async def test_read_session_rejects_update(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()

    async with _read_factory(app)() as reader:
        with pytest.raises(ReadOnlySessionError):
            await reader.execute(update(Store).where(Store.id == store.id).values(name="Renamed"))

    async with app.state.session_factory() as fresh:
        assert await fresh.scalar(select(Store.name).where(Store.id == store.id)) == store.name


@pytest.fixture
async def marked_app(app: FastAPI) -> FastAPI:
    @reads_only
    async def count_stores(session: SessionDep) -> dict[str, object]:
        count = await session.scalar(select(func.count()).select_from(Store))
        return {"stores": count, "read_only": bool(session.info.get("zapora_read_only"))}

    async def count_stores_writable(session: SessionDep) -> dict[str, object]:
        count = await session.scalar(select(func.count()).select_from(Store))
        return {"stores": count, "read_only": bool(session.info.get("zapora_read_only"))}

    app.add_api_route("/test/read-only", count_stores, methods=["GET"])
    app.add_api_route("/test/writable", count_stores_writable, methods=["GET"])
    return app


async def test_only_marked_routes_get_a_read_session(marked_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=marked_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        marked = await http.get("/test/read-only")
        unmarked = await http.get("/test/writable")

    assert marked.json() == {"stores": 0, "read_only": True}
    assert unmarked.json() == {"stores": 0, "read_only": False}
