"""Migrations build the whole schema from an empty database on both backends, and move data."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Uuid, bindparam, inspect, text

from tests.conftest import POSTGRES_ADMIN_DSN, _admin_execute, _postgres_url, _unavailable
from zapora.db import create_engine
from zapora.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from zapora.models import Base


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_sqlite_upgrade_from_empty(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    upgrade_to_head(url)
    tables = asyncio.run(_table_names(url))
    assert set(Base.metadata.tables) <= tables
    assert asyncio.run(current_revision(url)) == head_revision()


@contextlib.contextmanager
def _scratch_postgres() -> Iterator[str]:
    """Yield the URL of an empty PostgreSQL database, dropped afterwards."""
    name = f"zapora_mig_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable: {exc}")
    try:
        yield _postgres_url(name)
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_postgres_upgrade_from_empty():
    with _scratch_postgres() as url:
        upgrade_to_head(url)
        tables = asyncio.run(_table_names(url))
        assert set(Base.metadata.tables) <= tables
        assert asyncio.run(current_revision(url)) == head_revision()


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_model_table_in_schema(table, sqlite_url):
    assert table in asyncio.run(_table_names(sqlite_url))


async def _schema_differences(url: str) -> list[object]:
    engine = create_engine(url)

    def _compare(sync_connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    try:
        async with engine.connect() as connection:
            return list(await connection.run_sync(_compare))
    finally:
        await engine.dispose()


async def test_migrations_match_models(database_url):
    differences = await _schema_differences(database_url)
    assert differences == []


STORE_BEFORE_0008 = (
    "INSERT INTO stores (id, slug, name, time_zone, currency, language, delivery_fee, "
    "minimum_order, is_open, last_order_number, created_at, updated_at) VALUES "
    "(:id, 'counted', 'Counted', 'America/Sao_Paulo', 'BRL', 'pt-BR', 0, 0, true, 7, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


async def _execute(url: str, sql: str, **values: uuid.UUID) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            statement = text(sql).bindparams(*(bindparam(name, type_=Uuid()) for name in values))
            result = await connection.execute(statement, values)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


# How the release before revision 0008 numbered an order, and how later ones do.
OLD_NUMBERING = (
    "UPDATE stores SET last_order_number = last_order_number + 1 WHERE id = :id "
    "RETURNING last_order_number"
)
NEW_NUMBERING = (
    "INSERT INTO store_order_counters (store_id, last_number) VALUES (:id, 1) "
    "ON CONFLICT (store_id) DO UPDATE SET last_number = store_order_counters.last_number + 1 "
    "RETURNING last_number"
)


def _migrate_counter(url: str, numbering: list[str]) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0007")
    store_id = uuid.uuid4()
    asyncio.run(_execute(url, STORE_BEFORE_0008, id=store_id))

    command.upgrade(config, "0008")
    moved = asyncio.run(_execute(url, "SELECT store_id, last_number FROM store_order_counters"))
    numbers = [asyncio.run(_execute(url, sql, id=store_id))[0][0] for sql in numbering]
    command.downgrade(config, "0007")
    restored = asyncio.run(_execute(url, "SELECT id, last_order_number FROM stores"))

    assert [(uuid.UUID(str(key)), number) for key, number in moved] == [(store_id, 7)]
    # Both releases take numbers from one sequence while a rolling update runs them side by side.
    assert numbers == list(range(8, 8 + len(numbering)))
    assert [(uuid.UUID(str(key)), number) for key, number in restored] == [
        (store_id, 7 + len(numbering))
    ]


def test_order_counter_moves_on_sqlite(tmp_path):
    _migrate_counter(f"sqlite+aiosqlite:///{tmp_path / 'counter.db'}", [NEW_NUMBERING])


def test_order_counter_moves_on_postgres():
    with _scratch_postgres() as url:
        _migrate_counter(url, [OLD_NUMBERING, NEW_NUMBERING, OLD_NUMBERING])
