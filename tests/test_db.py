"""The PostgreSQL connection pool: a connection the server closed is never handed out."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

from tests.conftest import POSTGRES_ADMIN_DSN
from zapora.db import create_engine

# Time for the driver to notice that the server closed the terminated backend's socket.
CLOSE_NOTICE_SECONDS = 2.0


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_pool_replaces_terminated_connection(postgresql_url: str) -> None:
    engine = create_engine(postgresql_url)
    try:
        async with engine.connect() as connection:
            first_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        pooled = engine.pool.checkedin()
        await _terminate(first_pid)
        await asyncio.sleep(CLOSE_NOTICE_SECONDS)

        async with engine.connect() as connection:
            second_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()

    assert pooled == 1
    assert second_pid != first_pid


async def test_pool_reuses_open_connection(postgresql_url: str) -> None:
    engine = create_engine(postgresql_url)
    try:
        pids = []
        for _ in range(3):
            async with engine.connect() as connection:
                pids.append((await connection.execute(text("SELECT pg_backend_pid()"))).scalar())
    finally:
        await engine.dispose()

    assert len(set(pids)) == 1
