"""Test fixtures: every database test runs once on SQLite and once on PostgreSQL.

Each backend gets a fresh database built by running every migration. Tests share it and
each test starts from empty tables. Set ``ZAPORA_TEST_REQUIRE_SERVICES=1`` to turn a
PostgreSQL or Redis that cannot be reached into a failure instead of a skip.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.app import create_app
from zapora.config import Environment, Settings, WhatsAppTransport
from zapora.db import create_engine
from zapora.migrate import upgrade_to_head
from zapora.models import Base
from zapora.observability.logging import configure_logging

POSTGRES_ADMIN_DSN = os.environ.get(
    "ZAPORA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("ZAPORA_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false")
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TEST_SECRET_KEY = secrets.token_urlsafe(48)
BACKENDS = ["sqlite", "postgresql"]

# The local Graph API stand-in fixture, ``graph_api``, for every test.
pytest_plugins = ["tests.graph_api"]

configure_logging(level="INFO", json=False)


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ZAPORA_TEST_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


async def _admin_execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_DSN.rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{database}"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "zapora-test.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    name = f"zapora_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable: {exc}")
    url = _postgres_url(name)
    upgrade_to_head(url)
    yield url
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{backend}_url"))


async def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
    finally:
        await engine.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": Environment.TEST,
        "secret_key": TEST_SECRET_KEY,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_transport": WhatsAppTransport.LOG,
        "run_worker_in_process": False,
        # Webhook tests read the bot's replies right after the request.
        "process_webhooks_inline": True,
        "outbox_backoff_base_seconds": 0.01,
        "outbox_backoff_max_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    await _empty_tables(settings.resolved_database_url)
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session for arranging data; call ``await session.commit()`` before HTTP calls."""
    async with app.state.session_factory() as db_session:
        yield db_session
