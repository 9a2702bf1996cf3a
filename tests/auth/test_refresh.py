"""Refresh token rotation, reuse detection, expiry and logout."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.conftest import (
    ME_URL,
    Team,
    audit_entries,
    auth_event_count,
    bearer,
    log_in,
    refresh,
    refresh_tokens_of,
)
from zapora.auth.models import RefreshToken, User
from zapora.db import utcnow

LOGOUT_URL = "/api/v1/auth/logout"
LOGOUT_ALL_URL = "/api/v1/auth/logout-all"


def _digest(token: object) -> str:
    return hashlib.sha256(str(token).encode()).hexdigest()


async def test_refresh_returns_new_pair(app, client, team: Team):
    tokens = await log_in(client, team.manager)

    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    me = await client.get(ME_URL, headers=bearer(renewed))
    assert me.status_code == 200
    rows = {row.token_hash: row for row in await refresh_tokens_of(app, team.manager.id)}
    old = rows[_digest(tokens["refresh_token"])]
    new = rows[_digest(renewed["refresh_token"])]
    assert old.rotated_at is not None
    assert new.rotated_at is None
    assert new.family_id == old.family_id


async def test_refresh_is_audited(app, client, team: Team):
    tokens = await log_in(client, team.staff)
    before = auth_event_count("refresh")

    await refresh(client, tokens["refresh_token"])

    entries = await audit_entries(app, "auth.refresh")
    assert len(entries) == 1
    assert entries[0].actor_id == team.staff.id
    assert entries[0].store_id == team.store.id
    assert auth_event_count("refresh") == before + 1


async def test_chain_of_refreshes(client, team: Team):
    tokens = await log_in(client, team.courier)
    current = tokens["refresh_token"]

    for _ in range(3):
        response = await refresh(client, current)
        assert response.status_code == 200, response.text
        current = response.json()["refresh_token"]

    assert (await refresh(client, current)).status_code == 200


async def test_reuse_revokes_family(app, client, team: Team):
    tokens = await log_in(client, team.manager)
    other_session = await log_in(client, team.manager)
    first = await refresh(client, tokens["refresh_token"])
    successor = first.json()["refresh_token"]
    reuses_before = auth_event_count("refresh_reuse")

    reuse = await refresh(client, tokens["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.headers["content-type"] == "application/problem+json"
    assert (await refresh(client, successor)).status_code == 401
    rows = await refresh_tokens_of(app, team.manager.id)
    family = next(row for row in rows if row.token_hash == _digest(successor)).family_id
    assert all(row.revoked_at is not None for row in rows if row.family_id == family)
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200
    entries = await audit_entries(app, "auth.refresh_reuse")
    assert len(entries) == 1
    assert entries[0].target_id == str(team.manager.id)
    assert entries[0].store_id == team.store.id
    assert entries[0].after == {"family_id": str(family)}
    assert auth_event_count("refresh_reuse") == reuses_before + 1


async def test_concurrent_refresh_of_one_token(app, client, team: Team):
    tokens = await log_in(client, team.staff)

    responses = await asyncio.gather(
        refresh(client, tokens["refresh_token"]), refresh(client, tokens["refresh_token"])
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401]
    winner = next(response for response in responses if response.status_code == 200)
    assert (await refresh(client, winner.json()["refresh_token"])).status_code == 401


async def test_unknown_refresh_token_rejected(client, team: Team):
    response = await refresh(client, "not-a-refresh-token")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_access_token_as_refresh_rejected(client, team: Team):
    tokens = await log_in(client, team.manager)

    response = await refresh(client, tokens["access_token"])

    assert response.status_code == 401


async def test_expired_refresh_token_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.manager)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == _digest(tokens["refresh_token"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()

    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_disabled_user_refresh_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.staff)
    await session.execute(update(User).where(User.id == team.staff.id).values(is_active=False))
    await session.commit()

    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 401


async def test_deleted_user_refresh_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.courier)
    await session.delete(await session.get(User, team.courier.id))
    await session.commit()

    response = await refresh(client, tokens["refresh_token"])

    assert response.status_code == 401


async def test_logout_revokes_family(app, client, team: Team):
    tokens = await log_in(client, team.manager)
    renewed = (await refresh(client, tokens["refresh_token"])).json()
    other_session = await log_in(client, team.manager)

    response = await client.post(LOGOUT_URL, json={"refresh_token": renewed["refresh_token"]})

    assert response.status_code == 204
    assert (await refresh(client, renewed["refresh_token"])).status_code == 401
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200
    # Access tokens carry no session reference, so they live until they expire.
    assert (await client.get(ME_URL, headers=bearer(renewed))).status_code == 200
    entries = await audit_entries(app, "auth.logout")
    assert len(entries) == 1
    assert entries[0].actor_id == team.manager.id
    assert entries[0].after is not None
    assert entries[0].after["scope"] == "session"


async def test_logout_twice_succeeds(client, team: Team):
    tokens = await log_in(client, team.staff)
    body = {"refresh_token": tokens["refresh_token"]}

    assert (await client.post(LOGOUT_URL, json=body)).status_code == 204
    assert (await client.post(LOGOUT_URL, json=body)).status_code == 204


async def test_logout_unknown_token_rejected(client, team: Team):
    response = await client.post(LOGOUT_URL, json={"refresh_token": "unknown"})

    assert response.status_code == 401


async def test_logout_all_ends_every_session(app, client, team: Team):
    first = await log_in(client, team.manager)
    second = await log_in(client, team.manager)

    response = await client.post(LOGOUT_ALL_URL, headers=bearer(first))

    assert response.status_code == 204
    for tokens in (first, second):
        assert (await client.get(ME_URL, headers=bearer(tokens))).status_code == 401
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    entries = await audit_entries(app, "auth.logout")
    assert [entry.after for entry in entries] == [{"scope": "all"}]
    assert (await client.get(ME_URL, headers=bearer(await log_in(client, team.manager)))).is_success


async def test_logout_all_needs_access_token(client, team: Team):
    response = await client.post(LOGOUT_ALL_URL)

    assert response.status_code == 401
