"""Statements sent by asyncpg itself join the session's transaction and its write tracking."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_store, make_user
from tests.sql_log import statements_run
from zapora.audit.models import AuditEntry
from zapora.auth.models import User
from zapora.db import ReadOnlySessionError, finish, utcnow
from zapora.driver_sql import DriverStatement, get_by_id
from zapora.stores.models import Store

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

AUDIT_INSERT = DriverStatement(insert(AuditEntry.__table__))
STORE_NAME = DriverStatement(select(Store.name).where(Store.id == bindparam("store_id")))


def _entry(store_id: uuid.UUID, after: dict[str, object]) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "created_at": utcnow(),
        "store_id": store_id,
        "actor_type": "system",
        "actor_id": None,
        "actor_role": None,
        "action": "test.driver",
        "target_type": "store",
        "target_id": str(store_id),
        "before": None,
        "after": after,
        "ip": None,
        "request_id": None,
    }


async def _entries(app: FastAPI) -> list[AuditEntry]:
    async with app.state.session_factory() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == "test.driver"))
        return list(rows)


async def test_first_statement_joins_a_transaction(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()

    async with app.state.session_factory() as writer:
        await AUDIT_INSERT.fetch(writer, _entry(store.id, {"n": 1}))
        await writer.rollback()

    assert await _entries(app) == []


async def test_write_is_committed_by_finish(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()
    after = {"text": "Açaí", "count": 2, "nested": [1, None]}

    async with app.state.session_factory() as writer:
        await writer.get(Store, store.id)
        await AUDIT_INSERT.fetch(writer, _entry(store.id, after))
        await finish(writer)

    [entry] = await _entries(app)
    # Converted by the JSON column's own bind processor, as SQLAlchemy would.
    assert entry.after == after
    assert entry.before is None


async def test_read_only_session_rejects_write(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()

    async with app.state.read_session_factory() as reader:
        with pytest.raises(ReadOnlySessionError):
            await AUDIT_INSERT.fetch(reader, _entry(store.id, {}))

    assert await _entries(app) == []


async def test_autocommit_session_skips_begin(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session, name="Driver Store")
    await session.commit()

    with statements_run(app.state.engine) as statements:
        async with app.state.read_session_factory() as reader:
            rows = await STORE_NAME.fetch(reader, {"store_id": store.id})

    assert [row["name"] for row in rows] == ["Driver Store"]
    assert [sql for sql in statements if sql.strip() == "SELECT 1"] == []


def _columns(instance: Store) -> dict[str, object]:
    return {column.key: getattr(instance, column.key) for column in Store.__table__.columns}


async def test_get_by_id_matches_session_get(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session, latitude=-23.5614, longitude=-46.6559)
    await session.commit()

    async with app.state.session_factory() as reader:
        expected = _columns(await reader.get(Store, store.id))
    with statements_run(app.state.engine) as statements:
        async with app.state.session_factory() as loader:
            loaded = await get_by_id(loader, Store, store.id)
            again = await get_by_id(loader, Store, store.id)
            missing = await get_by_id(loader, Store, uuid.uuid4())
            assert loaded is not None
            clean = not loader.dirty and loaded in loader
            values = _columns(loaded)
            loaded.name = "Renamed"
            await loader.commit()

    assert values == expected
    assert isinstance(values["id"], uuid.UUID)
    assert values["created_at"].tzinfo is not None
    assert again is loaded
    assert missing is None
    assert clean
    # The transaction began without an extra statement, and the second read found the copy.
    assert [sql for sql in statements if "FROM stores" in sql and "stores.id" in sql] == [
        statements[0],
        statements[1],
    ]
    assert not [sql for sql in statements if sql.strip() == "SELECT 1"]
    async with app.state.session_factory() as reader:
        assert (await reader.get(Store, store.id)).name == "Renamed"


async def test_get_by_id_refreshes_expired(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session, name="Before")
    await session.commit()

    async with app.state.session_factory() as loader:
        loaded = await get_by_id(loader, Store, store.id)
        assert loaded is not None
        async with app.state.session_factory() as writer:
            await writer.execute(update(Store).where(Store.id == store.id).values(name="After"))
            await writer.commit()
        await loader.commit()
        loader.expire(loaded)
        refreshed = await get_by_id(loader, Store, store.id)

    assert refreshed is loaded
    assert refreshed.name == "After"


async def test_get_by_id_reads_ahead(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    user = await make_user(session, store=store)
    await session.commit()

    with statements_run(app.state.engine) as statements:
        async with app.state.session_factory() as loader:
            loaded_user = await get_by_id(loader, User, user.id, also=(Store, store.id))
            loaded_store = await get_by_id(loader, Store, store.id)
            assert loaded_user is not None
            assert loaded_store is not None
            values = (loaded_user.email, _columns(loaded_store))
            clean = not loader.dirty and loaded_store in loader
        async with app.state.session_factory() as loader:
            no_store = await get_by_id(loader, User, user.id, also=(Store, uuid.uuid4()))
            stores_held = [key for key in loader.identity_map if key[0] is Store]
        async with app.state.session_factory() as loader:
            no_user = await get_by_id(loader, User, uuid.uuid4(), also=(Store, store.id))
            nothing_held = list(loader.identity_map)
    async with app.state.session_factory() as reader:
        expected = (user.email, _columns(await reader.get_one(Store, store.id)))

    assert values == expected
    assert clean
    assert no_store is not None
    assert stores_held == []
    assert no_user is None
    assert nothing_held == []
    # One statement per session: the second read found the store in the first session.
    reads = [sql for sql in statements if "FROM users" in sql]
    assert len(reads) == 3, statements
    assert len(statements) == 3, statements
    assert all("JOIN stores" in sql for sql in reads)
