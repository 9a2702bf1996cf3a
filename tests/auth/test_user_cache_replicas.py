"""The account cache across two application instances that share a database and Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from tests.auth.conftest import Team, bearer, log_in
from tests.catalog.test_cache_support import cache_settings_for, statements_with
from tests.factories import PASSWORD
from zapora.app import create_app
from zapora.auth.user_cache import LOCAL_TTL_SECONDS
from zapora.config import Settings
from zapora.dependencies import user_cache_of

# Messages reach the other instance well within this bound, which is shorter than the TTL.
ANNOUNCE_BOUND_SECONDS = 1.0


@pytest.fixture
async def settings(database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for("redis", database_url) as value:
        yield value


@pytest.fixture(autouse=True)
async def _close_caches(app: FastAPI) -> AsyncIterator[None]:
    yield
    await user_cache_of(app).close()
    await app.state.menu_cache.close()


@asynccontextmanager
async def _replica(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        await user_cache_of(application).close()
        await application.state.menu_cache.close()
        await application.state.engine.dispose()


def _orders_url(team: Team) -> str:
    return f"/api/v1/stores/{team.store.id}/orders"


async def _cache_account(
    app: FastAPI, client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> None:
    """Read until the instance serves the caller from memory, which needs its subscription."""
    deadline = time.monotonic() + 5
    while True:
        with statements_with(app.state.engine, "FROM users") as statements:
            assert (await client.get(url, headers=headers)).status_code == 200
        if not statements:
            return
        assert time.monotonic() < deadline, "the instance never cached the account"
        await asyncio.sleep(0.05)


async def _seconds_until_rejected(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> float:
    started = time.monotonic()
    while (await client.get(url, headers=headers)).status_code != 401:
        assert time.monotonic() - started < LOCAL_TTL_SECONDS, "the token was never rejected"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_logout_all_reaches_other_instance(
    client: httpx.AsyncClient, settings: Settings, team: Team
) -> None:
    headers = bearer(await log_in(client, team.manager))
    url = _orders_url(team)
    async with _replica(settings) as (other_app, other):
        await _cache_account(other_app, other, url, headers)

        assert (await client.post("/api/v1/auth/logout-all", headers=headers)).status_code == 204

        assert await _seconds_until_rejected(other, url, headers) < ANNOUNCE_BOUND_SECONDS


async def test_disabling_reaches_other_instance(
    client: httpx.AsyncClient, settings: Settings, team: Team
) -> None:
    manager = bearer(await log_in(client, team.manager))
    staff = bearer(await log_in(client, team.staff))
    url = _orders_url(team)
    async with _replica(settings) as (other_app, other):
        await _cache_account(other_app, other, url, staff)

        response = await client.patch(
            f"/api/v1/stores/{team.store.id}/staff/{team.staff.id}",
            json={"is_active": False},
            headers=manager,
        )
        assert response.status_code == 200, response.text

        assert await _seconds_until_rejected(other, url, staff) < ANNOUNCE_BOUND_SECONDS


async def test_new_password_works_on_replica(
    client: httpx.AsyncClient, settings: Settings, team: Team
) -> None:
    old = bearer(await log_in(client, team.manager))
    url = _orders_url(team)
    async with _replica(settings) as (other_app, other):
        await _cache_account(other_app, other, url, old)

        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "another-long-password"},
            headers=old,
        )
        assert changed.status_code == 200, changed.text

        # Even before the announcement arrives, the newer token makes the instance reload.
        assert (await other.get(url, headers=bearer(changed.json()))).status_code == 200
        assert (await other.get(url, headers=old)).status_code == 401
