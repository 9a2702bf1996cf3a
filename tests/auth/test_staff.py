"""Staff management: scoped to the manager's store, audited, and revoking tokens on change."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
from tests.factories import PASSWORD, make_user
from zapora.auth.models import Role, User


def _staff_url(team: Team, user_id: uuid.UUID | None = None) -> str:
    base = f"/api/v1/stores/{team.store.id}/staff"
    return f"{base}/{user_id}" if user_id else base


async def _user_count(session: AsyncSession, email: str) -> int:
    result = await session.scalars(select(User.id).where(User.email == email))
    count = len(list(result))
    await session.commit()
    return count


async def test_list_shows_own_store_only(client, team: Team, other_team: Team):
    headers = bearer(await log_in(client, team.manager))

    response = await client.get(_staff_url(team), headers=headers)

    assert response.status_code == 200, response.text
    listed = {member["id"] for member in response.json()}
    own = {str(user.id) for user in (team.manager, team.staff, team.courier)}
    assert listed == own
    assert "password_hash" not in response.json()[0]


async def test_other_store_is_404(client, team: Team, other_team: Team):
    headers = bearer(await log_in(client, team.manager))
    foreign = _staff_url(other_team)
    body = {"email": "intruder@example.com", "role": "store_staff", "password": PASSWORD}

    listed = await client.get(foreign, headers=headers)
    created = await client.post(foreign, json=body, headers=headers)
    read = await client.get(_staff_url(other_team, other_team.staff.id), headers=headers)
    changed = await client.patch(
        _staff_url(other_team, other_team.staff.id), json={"is_active": False}, headers=headers
    )

    for response in (listed, created, read, changed):
        assert response.status_code == 404, response.text


async def test_other_store_user_through_own_store_is_404(app, client, team: Team, other_team: Team):
    headers = bearer(await log_in(client, team.manager))

    for user in (other_team.staff, other_team.admin):
        read = await client.get(_staff_url(team, user.id), headers=headers)
        changed = await client.patch(
            _staff_url(team, user.id), json={"is_active": False}, headers=headers
        )
        assert read.status_code == 404
        assert changed.status_code == 404
        stored = await load_user(app, user.id)
        assert stored is not None
        assert stored.is_active


async def test_create_with_password(app, client, team: Team):
    headers = bearer(await log_in(client, team.manager))
    body = {
        "email": "New.Cook@Example.com",
        "full_name": "  Ana Souza ",
        "role": "store_staff",
        "password": "cook-password-1",
    }

    response = await client.post(_staff_url(team), json=body, headers=headers)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == "new.cook@example.com"
    assert created["full_name"] == "Ana Souza"
    assert created["role"] == "store_staff"
    assert created["store_id"] == str(team.store.id)
    assert created["is_active"] is True
    assert created["initial_password"] is None
    login = await client.post(
        LOGIN_URL, json={"email": "new.cook@example.com", "password": "cook-password-1"}
    )
    assert login.status_code == 200
    entries = await audit_entries(app, "staff.created")
    assert len(entries) == 1
    assert entries[0].actor_id == team.manager.id
    assert entries[0].store_id == team.store.id
    assert entries[0].target_id == created["id"]
    assert entries[0].after == {
        "email": "new.cook@example.com",
        "full_name": "Ana Souza",
        "role": "store_staff",
        "is_active": True,
    }


async def test_create_without_password_returns_one(app, client, team: Team):
    headers = bearer(await log_in(client, team.manager))
    body = {"email": "rider@example.com", "role": "courier"}

    response = await client.post(_staff_url(team), json=body, headers=headers)

    assert response.status_code == 201, response.text
    initial = response.json()["initial_password"]
    assert isinstance(initial, str)
    assert len(initial) >= 20
    login = await client.post(LOGIN_URL, json={"email": "rider@example.com", "password": initial})
    assert login.status_code == 200
    stored = await load_user(app, uuid.UUID(response.json()["id"]))
    assert stored is not None
    assert initial not in stored.password_hash
    entries = await audit_entries(app, "staff.created")
    assert initial not in str(entries[0].after)
    listed = await client.get(_staff_url(team), headers=headers)
    assert all("initial_password" not in member for member in listed.json())


async def test_create_platform_admin_rejected(client, session: AsyncSession, team: Team):
    headers = bearer(await log_in(client, team.manager))
    body = {"email": "boss@example.com", "role": "platform_admin", "password": PASSWORD}

    response = await client.post(_staff_url(team), json=body, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.role"
    assert await _user_count(session, "boss@example.com") == 0


async def test_create_duplicate_email_conflicts(client, team: Team, other_team: Team):
    headers = bearer(await log_in(client, team.manager))
    body = {"email": other_team.staff.email, "role": "store_staff", "password": PASSWORD}

    response = await client.post(_staff_url(team), json=body, headers=headers)

    assert response.status_code == 409


async def test_create_short_password_rejected(client, session: AsyncSession, team: Team):
    headers = bearer(await log_in(client, team.manager))
    body = {"email": "short@example.com", "role": "store_staff", "password": "short"}

    response = await client.post(_staff_url(team), json=body, headers=headers)

    assert response.status_code == 422
    assert await _user_count(session, "short@example.com") == 0


async def test_role_change_revokes_tokens(app, client, team: Team):
    manager_headers = bearer(await log_in(client, team.manager))
    staff_tokens = await log_in(client, team.staff)

    response = await client.patch(
        _staff_url(team, team.staff.id), json={"role": "courier"}, headers=manager_headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "courier"
    assert (await client.get(ME_URL, headers=bearer(staff_tokens))).status_code == 401
    assert (await refresh(client, staff_tokens["refresh_token"])).status_code == 401
    fresh = await log_in(client, team.staff)
    me = await client.get(ME_URL, headers=bearer(fresh))
    assert me.json()["role"] == "courier"
    entries = await audit_entries(app, "staff.updated")
    assert len(entries) == 1
    assert entries[0].before == {"role": "store_staff"}
    assert entries[0].after == {"role": "courier"}
    assert entries[0].target_id == str(team.staff.id)


async def test_disable_and_enable(app, client, team: Team):
    manager_headers = bearer(await log_in(client, team.manager))
    courier_tokens = await log_in(client, team.courier)
    url = _staff_url(team, team.courier.id)

    disabled = await client.patch(url, json={"is_active": False}, headers=manager_headers)

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["is_active"] is False
    assert (await client.get(ME_URL, headers=bearer(courier_tokens))).status_code == 401
    assert (await refresh(client, courier_tokens["refresh_token"])).status_code == 401
    login = await client.post(LOGIN_URL, json={"email": team.courier.email, "password": PASSWORD})
    assert login.status_code == 401

    enabled = await client.patch(url, json={"is_active": True}, headers=manager_headers)

    assert enabled.status_code == 200
    assert (await log_in(client, team.courier))["access_token"]
    entries = await audit_entries(app, "staff.updated")
    assert [(entry.before, entry.after) for entry in entries] == [
        ({"is_active": True}, {"is_active": False}),
        ({"is_active": False}, {"is_active": True}),
    ]


async def test_unchanged_patch_not_audited(app, client, team: Team):
    headers = bearer(await log_in(client, team.manager))
    staff_tokens = await log_in(client, team.staff)

    response = await client.patch(
        _staff_url(team, team.staff.id),
        json={"role": "store_staff", "is_active": True},
        headers=headers,
    )

    assert response.status_code == 200
    assert await audit_entries(app, "staff.updated") == []
    assert (await client.get(ME_URL, headers=bearer(staff_tokens))).status_code == 200


async def test_manager_cannot_change_own_role(app, client, team: Team):
    headers = bearer(await log_in(client, team.manager))
    url = _staff_url(team, team.manager.id)

    role = await client.patch(url, json={"role": "store_staff"}, headers=headers)
    disable = await client.patch(url, json={"is_active": False}, headers=headers)

    assert role.status_code == 403
    assert role.json()["errors"][0]["field"] == "role"
    assert disable.status_code == 403
    assert disable.json()["errors"][0]["field"] == "is_active"
    stored = await load_user(app, team.manager.id)
    assert stored is not None
    assert stored.role == "store_manager"
    assert stored.is_active
    assert (await client.get(ME_URL, headers=headers)).status_code == 200


async def test_manager_can_disable_other_manager(client, session: AsyncSession, team: Team):
    headers = bearer(await log_in(client, team.manager))
    created = await client.post(
        _staff_url(team),
        json={"email": "second.manager@example.com", "role": "store_manager"},
        headers=headers,
    )
    second_id = created.json()["id"]

    response = await client.patch(
        _staff_url(team, uuid.UUID(second_id)), json={"is_active": False}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["is_active"] is False


async def test_platform_admin_manages_any_store(client, team: Team, other_team: Team):
    headers = bearer(await log_in(client, team.admin))

    listed = await client.get(_staff_url(other_team), headers=headers)
    changed = await client.patch(
        _staff_url(other_team, other_team.courier.id), json={"role": "store_staff"}, headers=headers
    )

    assert listed.status_code == 200
    assert len(listed.json()) == 3
    assert changed.status_code == 200
    assert changed.json()["role"] == "store_staff"


async def test_staff_roles_cannot_manage(client, team: Team):
    for user in (team.staff, team.courier):
        headers = bearer(await log_in(client, user))

        listed = await client.get(_staff_url(team), headers=headers)
        changed = await client.patch(
            _staff_url(team, user.id), json={"role": "store_manager"}, headers=headers
        )

        assert listed.status_code == 403
        assert changed.status_code == 403
        assert changed.json()["code"] == "permission_denied"


async def test_unknown_fields_rejected(client, team: Team):
    headers = bearer(await log_in(client, team.manager))

    response = await client.patch(
        _staff_url(team, team.staff.id), json={"password_hash": "x"}, headers=headers
    )

    assert response.status_code == 422


async def test_rename_and_blank_name(client, session: AsyncSession, team: Team):
    headers = bearer(await log_in(client, team.manager))
    member = await make_user(session, team.store, Role.COURIER)
    await session.commit()
    url = f"{_staff_url(team)}/{member.id}"

    renamed = await client.patch(url, json={"full_name": "Carlos Lima"}, headers=headers)
    blank = await client.patch(url, json={"full_name": "   "}, headers=headers)

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "Carlos Lima"
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "body.full_name"
