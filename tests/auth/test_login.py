"""Login: the token pair, stored refresh digests, rehashing, and audited failures."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.conftest import (
    LOGIN_URL,
    ME_URL,
    Team,
    audit_entries,
    auth_event_count,
    bearer,
    load_user,
    log_in,
    refresh_tokens_of,
)
from tests.factories import PASSWORD, make_user
from zapora.auth.models import Role
from zapora.auth.passwords import hash_password_sync
from zapora.db import utcnow


async def test_login_returns_token_pair(client, settings, team: Team):
    tokens = await log_in(client, team.manager)

    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_minutes * 60
    assert tokens["refresh_expires_in"] == settings.refresh_token_days * 24 * 3600
    assert isinstance(tokens["refresh_token"], str)
    assert len(tokens["refresh_token"]) >= 43
    me = await client.get(ME_URL, headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["email"] == team.manager.email


async def test_refresh_token_stored_as_digest(app, client, settings, team: Team):
    tokens = await log_in(client, team.manager)
    raw = str(tokens["refresh_token"])

    rows = await refresh_tokens_of(app, team.manager.id)

    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {rows[0].token_hash, str(rows[0].id), str(rows[0].family_id)}
    expected_expiry = utcnow() + timedelta(days=settings.refresh_token_days)
    assert abs(rows[0].expires_at - expected_expiry) < timedelta(minutes=1)
    assert rows[0].rotated_at is None
    assert rows[0].revoked_at is None


async def test_each_login_starts_own_family(app, client, team: Team):
    first = await log_in(client, team.manager)
    second = await log_in(client, team.manager)

    rows = await refresh_tokens_of(app, team.manager.id)

    assert first["refresh_token"] != second["refresh_token"]
    assert len({row.family_id for row in rows}) == 2


async def test_oauth2_form_returns_token_pair(client, team: Team):
    response = await client.post(
        "/api/v1/auth/token", data={"username": team.staff.email, "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"]
    assert (await client.get(ME_URL, headers=bearer(body))).status_code == 200


async def test_login_is_audited(app, client, team: Team):
    response = await client.post(
        LOGIN_URL,
        json={"email": team.manager.email, "password": PASSWORD},
        headers={"X-Request-ID": "login-audit-1"},
    )
    assert response.status_code == 200

    entries = await audit_entries(app, "auth.login")

    assert len(entries) == 1
    assert entries[0].actor_type == "staff"
    assert entries[0].actor_id == team.manager.id
    assert entries[0].store_id == team.store.id
    assert entries[0].target_id == str(team.manager.id)
    assert entries[0].request_id == "login-audit-1"


async def test_wrong_password_audited_and_counted(app, client, team: Team):
    before = auth_event_count("login_failed")

    response = await client.post(
        LOGIN_URL, json={"email": team.staff.email, "password": "wrong-password"}
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert auth_event_count("login_failed") == before + 1
    entries = await audit_entries(app, "auth.login_failed")
    assert len(entries) == 1
    assert entries[0].actor_type == "anonymous"
    assert entries[0].actor_id is None
    assert entries[0].target_type == "user"
    assert entries[0].target_id == str(team.staff.id)
    assert entries[0].store_id == team.store.id
    assert entries[0].after == {"reason": "wrong_password"}


async def test_unknown_email_audited_without_id(app, client, team: Team):
    before = auth_event_count("login_failed")

    response = await client.post(
        LOGIN_URL, json={"email": "nobody@example.com", "password": PASSWORD}
    )

    assert response.status_code == 401
    assert auth_event_count("login_failed") == before + 1
    entries = await audit_entries(app, "auth.login_failed")
    assert len(entries) == 1
    assert entries[0].target_id is None
    assert entries[0].store_id is None
    assert entries[0].after == {"reason": "unknown_email"}


async def test_disabled_account_cannot_log_in(app, client, session: AsyncSession, team: Team):
    disabled = await make_user(session, team.store, Role.STORE_STAFF, is_active=False)
    await session.commit()

    response = await client.post(LOGIN_URL, json={"email": disabled.email, "password": PASSWORD})

    assert response.status_code == 401
    entries = await audit_entries(app, "auth.login_failed")
    assert [entry.after for entry in entries] == [{"reason": "disabled"}]
    assert await refresh_tokens_of(app, disabled.id) == []


async def test_failed_login_issues_no_tokens(app, client, team: Team):
    await client.post(LOGIN_URL, json={"email": team.manager.email, "password": "nope-nope"})

    assert await refresh_tokens_of(app, team.manager.id) == []
    assert await audit_entries(app, "auth.login") == []


async def test_login_email_case_insensitive(client, team: Team):
    response = await client.post(
        LOGIN_URL, json={"email": team.manager.email.upper(), "password": PASSWORD}
    )

    assert response.status_code == 200, response.text


async def test_weak_hash_replaced_on_login(app, client, session: AsyncSession, team: Team):
    weak_hash = Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = await make_user(session, team.store, Role.STORE_STAFF, password_hash=weak_hash)
    await session.commit()
    assert "m=8192,t=1,p=1" in weak_hash

    await log_in(client, user)

    stored = await load_user(app, user.id)
    assert stored is not None
    assert stored.password_hash != weak_hash
    current_parameters = hash_password_sync("other").split("$")[3]
    assert stored.password_hash.split("$")[3] == current_parameters
    await log_in(client, user)


async def test_current_hash_kept_on_login(app, client, team: Team):
    before = await load_user(app, team.manager.id)
    assert before is not None

    await log_in(client, team.manager)

    after = await load_user(app, team.manager.id)
    assert after is not None
    assert after.password_hash == before.password_hash


async def test_token_form_nul_email_rejected(client):
    response = await client.post(
        "/api/v1/auth/token", data={"username": "a\x00b@example.com", "password": "whatever-1"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
