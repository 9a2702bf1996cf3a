"""Migrations build the whole schema from an empty database on both backends."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import POSTGRES_ADMIN_DSN, _admin_execute, _postgres_url, _unavailable
from zapora.db import create_engine
from zapora.migrate import current_revision, head_revision, upgrade_to_head
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


def test_postgres_upgrade_from_empty():
    name = f"zapora_mig_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable: {exc}")
    url = _postgres_url(name)
    try:
        upgrade_to_head(url)
        tables = asyncio.run(_table_names(url))
        assert set(Base.metadata.tables) <= tables
        assert asyncio.run(current_revision(url)) == head_revision()
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
