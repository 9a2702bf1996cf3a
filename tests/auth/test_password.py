"""Changing one's own password replaces the hash and ends every earlier session."""

from __future__ import annotations

from tests.auth.conftest import (
    LOGIN_URL,
    ME_URL,
    Team,
    audit_entries,
    bearer,
    load_user,
    log_in,
    refresh,
)
from tests.factories import PASSWORD

PASSWORD_URL = "/api/v1/auth/password"
NEW_PASSWORD = "a-new-long-passphrase"


async def test_password_change_revokes_tokens(app, client, team: Team):
    tokens = await log_in(client, team.staff)
    other_session = await log_in(client, team.staff)
    version_before = team.staff.token_version

    response = await client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )

    assert response.status_code == 200, response.text
    renewed = response.json()
    for old in (tokens, other_session):
        assert (await client.get(ME_URL, headers=bearer(old))).status_code == 401
        assert (await refresh(client, old["refresh_token"])).status_code == 401
    assert (await client.get(ME_URL, headers=bearer(renewed))).status_code == 200
    assert (await refresh(client, renewed["refresh_token"])).status_code == 200
    stored = await load_user(app, team.staff.id)
    assert stored is not None
    assert stored.token_version == version_before + 1


async def test_new_password_replaces_old(client, team: Team):
    tokens = await log_in(client, team.courier)
    await client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )

    old = await client.post(LOGIN_URL, json={"email": team.courier.email, "password": PASSWORD})
    new = await client.post(LOGIN_URL, json={"email": team.courier.email, "password": NEW_PASSWORD})

    assert old.status_code == 401
    assert new.status_code == 200


async def test_password_change_audited_without_secrets(app, client, team: Team):
    tokens = await log_in(client, team.manager)

    await client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )

    entries = await audit_entries(app, "auth.password_changed")
    assert len(entries) == 1
    assert entries[0].actor_id == team.manager.id
    assert entries[0].target_id == str(team.manager.id)
    recorded = f"{entries[0].before} {entries[0].after}"
    assert "argon2" not in recorded
    assert NEW_PASSWORD not in recorded
    assert PASSWORD not in recorded


async def test_wrong_current_password_changes_nothing(app, client, team: Team):
    tokens = await log_in(client, team.staff)
    before = await load_user(app, team.staff.id)

    response = await client.post(
        PASSWORD_URL,
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "current_password"
    after = await load_user(app, team.staff.id)
    assert before is not None
    assert after is not None
    assert after.password_hash == before.password_hash
    assert after.token_version == before.token_version
    assert (await client.get(ME_URL, headers=bearer(tokens))).status_code == 200
    assert await audit_entries(app, "auth.password_changed") == []


async def test_short_new_password_rejected(client, team: Team):
    tokens = await log_in(client, team.staff)

    response = await client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(tokens),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.new_password"


async def test_same_password_rejected(client, team: Team):
    tokens = await log_in(client, team.staff)

    response = await client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": PASSWORD},
        headers=bearer(tokens),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "new_password"


async def test_password_change_needs_token(client, team: Team):
    response = await client.post(
        PASSWORD_URL, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 401
