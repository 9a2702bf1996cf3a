"""Two stores with a menu and a logged-in manager each, and reads of the audit log table."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Menu, login, make_menu, make_store, make_user
from zapora.audit.models import AuditEntry
from zapora.auth.models import Role, User
from zapora.stores.models import Store


@dataclass
class Shop:
    store: Store
    menu: Menu
    manager: User
    headers: dict[str, str]

    @property
    def base(self) -> str:
        return f"/api/v1/stores/{self.store.id}"

    @property
    def audit_url(self) -> str:
        return f"{self.base}/audit"


async def make_shop(session: AsyncSession, client: httpx.AsyncClient, **values: object) -> Shop:
    store = await make_store(session, **values)
    menu = await make_menu(session, store)
    manager = await make_user(session, store)
    await session.commit()
    return Shop(store=store, menu=menu, manager=manager, headers=await login(client, manager))


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A store with the standard menu and its manager's Authorization header."""
    return await make_shop(session, client)


@pytest.fixture
async def other_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A second store, whose log the first store's manager must never see."""
    return await make_shop(session, client)


@pytest.fixture
async def admin_headers(session: AsyncSession, client: httpx.AsyncClient) -> dict[str, str]:
    admin = await make_user(session, None, Role.PLATFORM_ADMIN)
    await session.commit()
    return await login(client, admin)


@pytest.fixture
def session_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


# Logging in writes auth entries of its own; these tests count the entries of other actions.
NOT_AUTH = ~AuditEntry.action.startswith("auth.")


async def audit_entries(
    factory: async_sessionmaker[AsyncSession], *where: ColumnElement[bool]
) -> list[AuditEntry]:
    """Read committed entries other than auth events in a fresh session, oldest first."""
    async with factory() as fresh:
        query = select(AuditEntry).where(NOT_AUTH, *where)
        query = query.order_by(AuditEntry.created_at, AuditEntry.id)
        return list(await fresh.scalars(query))


async def only_entry(
    factory: async_sessionmaker[AsyncSession], *where: ColumnElement[bool]
) -> AuditEntry:
    """Return the one committed entry matching ``where``, failing when there are more."""
    entries = await audit_entries(factory, *where)
    assert len(entries) == 1, [entry.action for entry in entries]
    return entries[0]


def assert_staff_entry(entry: AuditEntry, shop: Shop, action: str, target_type: str) -> None:
    """Check who acted, in which store, and on what kind of object."""
    assert entry.action == action
    assert entry.actor_type == "staff"
    assert entry.actor_id == shop.manager.id
    assert entry.actor_role == Role.STORE_MANAGER.value
    assert entry.store_id == shop.store.id
    assert entry.target_type == target_type
