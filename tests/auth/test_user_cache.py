"""The account cache of read-only routes, in one process without Redis.

A read-only route takes the caller's account from process memory, a route that writes
loads it. Changes made through the API drop the cached account at once, and a change made
around the API takes effect within ``LOCAL_TTL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.conftest import ME_URL, Team, bearer, log_in
from tests.catalog.test_cache_support import statements_with
from tests.factories import PASSWORD
from zapora.auth import user_cache
from zapora.auth.models import User
from zapora.auth.tokens import issue_access_token
from zapora.config import Settings
from zapora.dependencies import user_cache_of


@pytest.fixture(autouse=True)
async def _close_user_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await user_cache_of(app).close()


def _orders_url(team: Team, store_id: object = None) -> str:
    return f"/api/v1/stores/{store_id or team.store.id}/orders"


async def _list(client: httpx.AsyncClient, team: Team, headers: dict[str, str]) -> int:
    response = await client.get(_orders_url(team), headers=headers)
    return response.status_code


async def test_read_route_reads_account_once(
    app: FastAPI, client: httpx.AsyncClient, team: Team
) -> None:
    headers = bearer(await log_in(client, team.manager))
    assert await _list(client, team, headers) == 200

    with statements_with(app.state.engine, "") as statements:
        assert await _list(client, team, headers) == 200

    # The cached account and the store check of a member cost no query: only the page runs.
    selects = [text for text in statements if text.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
    assert "FROM orders" in selects[0]


async def test_write_route_loads_account(
    app: FastAPI, client: httpx.AsyncClient, team: Team
) -> None:
    headers = bearer(await log_in(client, team.manager))
    assert await _list(client, team, headers) == 200

    with statements_with(app.state.engine, "FROM users") as statements:
        response = await client.get(ME_URL, headers=headers)

    assert response.status_code == 200
    assert len(statements) == 1


async def test_logout_all_revokes_at_once(client: httpx.AsyncClient, team: Team) -> None:
    headers = bearer(await log_in(client, team.manager))
    assert await _list(client, team, headers) == 200

    assert (await client.post("/api/v1/auth/logout-all", headers=headers)).status_code == 204

    response = await client.get(_orders_url(team), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "revoked" in response.json()["detail"]


async def test_password_change_swaps_tokens(client: httpx.AsyncClient, team: Team) -> None:
    old = bearer(await log_in(client, team.manager))
    assert await _list(client, team, old) == 200

    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another-long-password"},
        headers=old,
    )
    assert changed.status_code == 200, changed.text

    assert await _list(client, team, old) == 401
    assert await _list(client, team, bearer(changed.json())) == 200


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "courier"}])
async def test_staff_change_revokes_at_once(
    client: httpx.AsyncClient, team: Team, change: dict[str, object]
) -> None:
    manager = bearer(await log_in(client, team.manager))
    staff = bearer(await log_in(client, team.staff))
    assert await _list(client, team, staff) == 200

    response = await client.patch(
        f"/api/v1/stores/{team.store.id}/staff/{team.staff.id}", json=change, headers=manager
    )
    assert response.status_code == 200, response.text

    assert await _list(client, team, staff) == 401


async def test_newer_token_reloads_account(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, team: Team
) -> None:
    old = bearer(await log_in(client, team.manager))
    assert await _list(client, team, old) == 200
    version = team.manager.token_version + 1
    # A change whose message never reached this process, such as one made by another process.
    await session.execute(
        update(User).where(User.id == team.manager.id).values(token_version=version)
    )
    await session.commit()
    renewed = User(id=team.manager.id, role=team.manager.role, token_version=version)
    newer, _ = issue_access_token(settings, renewed)

    assert await _list(client, team, {"Authorization": f"Bearer {newer}"}) == 200
    assert await _list(client, team, old) == 401


async def test_direct_change_applies_after_ttl(
    client: httpx.AsyncClient,
    session: AsyncSession,
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(user_cache, "LOCAL_TTL_SECONDS", 0.3)
    headers = bearer(await log_in(client, team.staff))
    assert await _list(client, team, headers) == 200

    await session.execute(update(User).where(User.id == team.staff.id).values(is_active=False))
    await session.commit()

    # The documented bound: a change no service announced applies once the cached copy expires.
    assert await _list(client, team, headers) == 200
    await asyncio.sleep(0.4)
    response = await client.get(_orders_url(team), headers=headers)
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]


async def test_admin_lists_any_store(client: httpx.AsyncClient, team: Team) -> None:
    headers = bearer(await log_in(client, team.admin))

    assert await _list(client, team, headers) == 200


async def test_admin_unknown_store_not_found(client: httpx.AsyncClient, team: Team) -> None:
    headers = bearer(await log_in(client, team.admin))

    missing = await client.get(_orders_url(team, uuid.uuid4()), headers=headers)

    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "store_id"


async def test_other_store_member_not_found(
    client: httpx.AsyncClient, team: Team, other_team: Team
) -> None:
    headers = bearer(await log_in(client, other_team.manager))

    response = await client.get(_orders_url(team), headers=headers)

    assert response.status_code == 404
    assert response.json()["detail"] == f"Store {team.store.id} not found."
    assert response.json()["errors"][0]["field"] == "store_id"
