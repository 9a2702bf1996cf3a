"""Fixtures for the auth tests: a store with one account of each role, and audit lookups.

Rate limiting is off here: these tests log in and call routes far more often than a
person would, and the limits have their own tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.factories import PASSWORD, make_store, make_user
from zapora.audit.models import AuditEntry
from zapora.auth.models import RefreshToken, Role, User
from zapora.config import Settings
from zapora.stores.models import Store

LOGIN_URL = "/api/v1/auth/login"
REFRESH_URL = "/api/v1/auth/refresh"
ME_URL = "/api/v1/auth/me"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, rate_limit_enabled=False)


@dataclass
class Team:
    store: Store
    admin: User
    manager: User
    staff: User
    courier: User

    def by_role(self, role: Role) -> User:
        return {
            Role.PLATFORM_ADMIN: self.admin,
            Role.STORE_MANAGER: self.manager,
            Role.STORE_STAFF: self.staff,
            Role.COURIER: self.courier,
        }[role]


async def _make_team(session: AsyncSession) -> Team:
    store = await make_store(session)
    team = Team(
        store=store,
        admin=await make_user(session, None, Role.PLATFORM_ADMIN),
        manager=await make_user(session, store, Role.STORE_MANAGER),
        staff=await make_user(session, store, Role.STORE_STAFF),
        courier=await make_user(session, store, Role.COURIER),
    )
    await session.commit()
    return team


@pytest.fixture
async def team(session: AsyncSession) -> Team:
    """A store with a manager, a staff member and a courier, plus a platform admin."""
    return await _make_team(session)


@pytest.fixture
async def other_team(session: AsyncSession) -> Team:
    """A second store's accounts, which the first store's staff must never reach."""
    return await _make_team(session)


async def log_in(
    client: httpx.AsyncClient, user: User, password: str = PASSWORD
) -> dict[str, object]:
    """Log in through the API and return the token response body."""
    response = await client.post(LOGIN_URL, json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def refresh(client: httpx.AsyncClient, refresh_token: object) -> httpx.Response:
    return await client.post(REFRESH_URL, json={"refresh_token": refresh_token})


async def audit_entries(app: FastAPI, action: str) -> list[AuditEntry]:
    """Return the committed audit entries of one action, oldest first."""
    async with app.state.session_factory() as session:
        result = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.created_at)
        )
        return list(result)


async def load_user(app: FastAPI, user_id: uuid.UUID) -> User | None:
    async with app.state.session_factory() as session:
        return await session.get(User, user_id)


async def refresh_tokens_of(app: FastAPI, user_id: uuid.UUID) -> list[RefreshToken]:
    async with app.state.session_factory() as session:
        result = await session.scalars(
            select(RefreshToken)
            .where(RefreshToken.user_id == user_id)
            .order_by(RefreshToken.created_at)
        )
        return list(result)


def auth_event_count(event: str) -> float:
    value = REGISTRY.get_sample_value("zapora_auth_events_total", {"event": event})
    return value or 0.0
