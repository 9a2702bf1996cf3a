"""``zapora backup`` and ``zapora restore``, run as separate processes on each backend."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import POSTGRES_ADMIN_DSN, _admin_execute, _postgres_url, _unavailable
from tests.orders.builders import Shop, delivery_body, make_shop, pickup_body
from zapora.backups.postgres import libpq_connection
from zapora.db import create_engine
from zapora.migrate import current_revision, head_revision
from zapora.orders.models import Order, OrderLine

ZAPORA = str(Path(sys.executable).parent / "zapora")
OrderRow = tuple[str, int, int, str]


def _run(
    database_url: str, *args: str, answer: str | None = None, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZAPORA_DATABASE_URL": database_url, "ZAPORA_LOG_LEVEL": "WARNING"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(  # noqa: S603
        [ZAPORA, *args],
        env=env,
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def postgresql_scratch_url() -> Iterator[str]:
    """A new empty PostgreSQL database, dropped after the test."""
    name = f"zapora_restore_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable: {exc}")
    yield _postgres_url(name)
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database to restore into: a new empty PostgreSQL database or a SQLite path."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    return str(request.getfixturevalue("postgresql_scratch_url"))


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A store with the standard menu and its manager's Authorization header."""
    return await make_shop(session, client)


def _sqlite_file(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite+aiosqlite:///"))


async def _place_orders(client: httpx.AsyncClient, shop: Shop) -> list[OrderRow]:
    bodies = [delivery_body(shop.menu), pickup_body(shop.menu), delivery_body(shop.menu)]
    placed: list[OrderRow] = []
    for body in bodies:
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 201, response.text
        order = response.json()
        placed.append((order["id"], order["number"], order["total"], order["status"]))
    return placed


async def _read_orders(database_url: str) -> list[OrderRow]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                select(Order.id, Order.number, Order.total, Order.status).order_by(Order.number)
            )
            return [(str(row[0]), row[1], row[2], str(row[3])) for row in result]
    finally:
        await engine.dispose()


async def _count_lines(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(OrderLine))
            return int(count or 0)
    finally:
        await engine.dispose()


async def _zero_totals(database_url: str) -> None:
    await _execute(database_url, "UPDATE orders SET total = 0")


async def _has_orders_table(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return bool(
                await connection.run_sync(lambda sync: sync.dialect.has_table(sync, "orders"))
            )
    finally:
        await engine.dispose()


async def test_restore_finds_every_order(client, shop, database_url, scratch_url, tmp_path):
    placed = await _place_orders(client, shop)
    backup_file = tmp_path / "zapora.backup"

    backed_up = _run(database_url, "backup", "--output", str(backup_file))
    assert backed_up.returncode == 0, backed_up.stderr
    assert backup_file.stat().st_size > 0
    restored = _run(database_url, "restore", str(backup_file), "--target-url", scratch_url, "--yes")
    assert restored.returncode == 0, restored.stderr

    assert await _read_orders(scratch_url) == placed
    assert await _count_lines(scratch_url) == 5
    assert await current_revision(scratch_url) == head_revision()


async def test_restore_replaces_changed_rows(client, shop, database_url, scratch_url, tmp_path):
    placed = await _place_orders(client, shop)
    backup_file = tmp_path / "zapora.backup"
    assert _run(database_url, "backup", "--output", str(backup_file)).returncode == 0
    first = _run(database_url, "restore", str(backup_file), "--target-url", scratch_url, "--yes")
    assert first.returncode == 0, first.stderr
    await _zero_totals(scratch_url)

    again = _run(database_url, "restore", str(backup_file), "--target-url", scratch_url, "--yes")

    assert again.returncode == 0, again.stderr
    assert await _read_orders(scratch_url) == placed


async def test_restore_asks_before_replacing(client, shop, database_url, scratch_url, tmp_path):
    placed = await _place_orders(client, shop)
    backup_file = tmp_path / "zapora.backup"
    assert _run(database_url, "backup", "--output", str(backup_file)).returncode == 0
    restore_args = ("restore", str(backup_file), "--target-url", scratch_url)

    declined = _run(database_url, *restore_args, answer="n\n")
    assert declined.returncode == 1
    assert "Replace every Zapora table" in declined.stdout
    assert "nothing was changed" in declined.stderr
    if scratch_url.startswith("sqlite"):
        assert not _sqlite_file(scratch_url).exists()
    else:
        assert not await _has_orders_table(scratch_url)

    accepted = _run(database_url, *restore_args, answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert await _read_orders(scratch_url) == placed


async def test_truncated_backup_leaves_target(client, shop, database_url, scratch_url, tmp_path):
    placed = await _place_orders(client, shop)
    backup_file = tmp_path / "zapora.backup"
    assert _run(database_url, "backup", "--output", str(backup_file)).returncode == 0
    first = _run(database_url, "restore", str(backup_file), "--target-url", scratch_url, "--yes")
    assert first.returncode == 0, first.stderr
    await _zero_totals(scratch_url)
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(backup_file.read_bytes()[:-2048])

    result = _run(database_url, "restore", str(truncated), "--target-url", scratch_url, "--yes")

    assert result.returncode == 1
    assert "truncated or damaged" in result.stderr
    assert "Traceback" not in result.stderr
    expected = [(order_id, number, 0, status) for order_id, number, _, status in placed]
    assert await _read_orders(scratch_url) == expected


async def _execute(database_url: str, *statements: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _alembic_versions(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return [str(row[0]) for row in result]
    finally:
        await engine.dispose()


async def test_failed_postgres_restore_rolls_back(postgresql_url, postgresql_scratch_url, tmp_path):
    """pg_restore stops at the first error and the target keeps every earlier change."""
    backup_file = tmp_path / "zapora.backup"
    assert _run(postgresql_url, "backup", "--output", str(backup_file)).returncode == 0
    restore_args = ("restore", str(backup_file), "--target-url", postgresql_scratch_url, "--yes")
    assert _run(postgresql_url, *restore_args).returncode == 0
    # A view the archive does not know keeps DROP TABLE orders from running.
    await _execute(
        postgresql_scratch_url,
        "CREATE VIEW order_totals AS SELECT id, total FROM orders",
        "UPDATE alembic_version SET version_num = 'before-restore'",
    )

    result = _run(postgresql_url, *restore_args)

    assert result.returncode == 1
    assert "pg_restore failed" in result.stderr
    assert "the target is unchanged" in result.stderr
    assert "order_totals" in result.stderr or "depend" in result.stderr
    assert await _alembic_versions(postgresql_scratch_url) == ["before-restore"]


async def test_foreign_backup_is_rejected(backend, database_url, scratch_url, tmp_path):
    """A backup of a database without Zapora's schema is rejected before anything changes."""
    if backend == "sqlite":
        foreign_path = _sqlite_file(scratch_url)
        with closing(sqlite3.connect(foreign_path)) as foreign:
            foreign.execute("CREATE TABLE notes (body TEXT)")
    else:
        await _execute(scratch_url, "CREATE TABLE notes (body TEXT)")
    backup_file = tmp_path / "foreign.backup"
    backed_up = _run(scratch_url, "backup", "--output", str(backup_file))
    assert backed_up.returncode == 0, backed_up.stderr

    result = _run(database_url, "restore", str(backup_file), "--yes")

    assert result.returncode == 1
    assert "no alembic_version table" in result.stderr
    assert await _has_orders_table(database_url)


async def test_restore_rejects_other_files(database_url, tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("these are not the rows you are looking for\n")

    junk = _run(database_url, "restore", str(not_a_backup), "--yes")
    missing = _run(database_url, "restore", str(tmp_path / "missing.backup"), "--yes")

    assert junk.returncode == 1
    assert "is not a Zapora backup" in junk.stderr
    assert "written by 'zapora backup'" in junk.stderr
    assert missing.returncode == 1
    assert "not found" in missing.stderr


async def test_restore_rejects_other_database_kind(client, shop, database_url, tmp_path):
    backup_file = tmp_path / "zapora.backup"
    assert _run(database_url, "backup", "--output", str(backup_file)).returncode == 0
    if database_url.startswith("sqlite"):
        other_url = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    else:
        other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"

    result = _run(database_url, "restore", str(backup_file), "--target-url", other_url, "--yes")

    assert result.returncode == 1
    assert "--target-url" in result.stderr
    assert not (tmp_path / "other.db").exists()


async def test_restore_unreachable_target(client, shop, database_url, tmp_path):
    backup_file = tmp_path / "zapora.backup"
    assert _run(database_url, "backup", "--output", str(backup_file)).returncode == 0
    if database_url.startswith("sqlite"):
        target = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'zapora.db'}"
        fix = "create the folder"
    else:
        target = f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/zapora"
        fix = "check that PostgreSQL is running"

    result = _run(database_url, "restore", str(backup_file), "--target-url", target, "--yes")

    assert result.returncode == 1
    assert fix in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_backup_keeps_old_file(tmp_path):
    output = tmp_path / "zapora.backup"
    output.write_bytes(b"the previous backup")
    unreachable = f"postgresql+asyncpg://postgres:s3cret@127.0.0.1:{_free_port()}/zapora"

    result = _run(unreachable, "backup", "--output", str(output))

    assert result.returncode == 1
    assert "check that PostgreSQL is running" in result.stderr
    assert "s3cret" not in result.stderr
    assert output.read_bytes() == b"the previous backup"
    assert [path.name for path in tmp_path.iterdir()] == ["zapora.backup"]


def test_restore_accepts_libpq_style_url(postgresql_url, postgresql_scratch_url, tmp_path):
    backup_file = tmp_path / "zapora.backup"
    assert _run(postgresql_url, "backup", "--output", str(backup_file)).returncode == 0
    plain_url = postgresql_scratch_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    result = _run(
        postgresql_url,
        "restore",
        str(backup_file),
        "--target-url",
        f"{plain_url}?sslmode=disable",
        "--yes",
    )

    assert result.returncode == 0, result.stderr
    assert asyncio.run(current_revision(postgresql_scratch_url)) == head_revision()


def test_backup_into_folder_rejected(sqlite_url, tmp_path):
    result = _run(sqlite_url, "backup", "--output", str(tmp_path))

    assert result.returncode == 1
    assert "is a folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_backup_without_pg_dump(tmp_path):
    output = tmp_path / "zapora.backup"
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/zapora"

    result = _run(url, "backup", "--output", str(output), path=str(tmp_path))

    assert result.returncode == 1
    assert "pg_dump was not found on PATH" in result.stderr
    assert "postgresql-client" in result.stderr
    assert not output.exists()


def test_restore_rejects_sqlite_in_use(sqlite_url, tmp_path):
    backup_file = tmp_path / "zapora.backup"
    assert _run(sqlite_url, "backup", "--output", str(backup_file)).returncode == 0
    target_path = tmp_path / "live.db"
    target = f"sqlite+aiosqlite:///{target_path}"
    assert (
        _run(sqlite_url, "restore", str(backup_file), "--target-url", target, "--yes").returncode
        == 0
    )

    with closing(sqlite3.connect(target_path, isolation_level=None)) as service:
        service.execute("PRAGMA journal_mode=WAL")
        service.execute("SELECT count(*) FROM orders").fetchall()
        busy = _run(sqlite_url, "restore", str(backup_file), "--target-url", target, "--yes")
    after_stop = _run(sqlite_url, "restore", str(backup_file), "--target-url", target, "--yes")

    assert busy.returncode == 1
    assert "in use by another process" in busy.stderr
    assert "stop every 'zapora serve' and 'zapora worker'" in busy.stderr
    assert after_stop.returncode == 0, after_stop.stderr
    assert not target_path.with_name("live.db-wal").exists()


def test_libpq_connection_keeps_password_out():
    connection = libpq_connection("postgresql+asyncpg://zapora:p%40ss%27word@db.internal:6432/shop")

    assert "p@ss'word" not in connection.conninfo
    assert connection.environment == {"PGPASSWORD": "p@ss'word"}
    assert "host='db.internal'" in connection.conninfo
    assert "port='6432'" in connection.conninfo
    assert "user='zapora'" in connection.conninfo
    assert "dbname='shop'" in connection.conninfo


def test_libpq_connection_reads_query():
    connection = libpq_connection(
        "postgresql+asyncpg://zapora@/it's%20mine?host=/run/postgresql&ssl=verify-full"
        "&prepared_statement_cache_size=0"
    )

    assert "host='/run/postgresql'" in connection.conninfo
    assert "sslmode='verify-full'" in connection.conninfo
    assert r"dbname='it\'s mine'" in connection.conninfo
    assert "prepared_statement_cache_size" not in connection.conninfo
    assert connection.environment == {}
