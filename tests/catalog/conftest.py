"""Two stores with a menu each, and a logged-in manager of the first."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu, login, make_menu, make_store, make_user
from zapora.stores.models import Store


@dataclass
class StoreWithMenu:
    store: Store
    menu: Menu
    headers: dict[str, str]

    @property
    def base(self) -> str:
        return f"/api/v1/stores/{self.store.id}"


async def _store_with_menu(session: AsyncSession, client: httpx.AsyncClient) -> StoreWithMenu:
    store = await make_store(session)
    menu = await make_menu(session, store)
    user = await make_user(session, store)
    await session.commit()
    return StoreWithMenu(store=store, menu=menu, headers=await login(client, user))


@pytest.fixture
async def store_a(session: AsyncSession, client: httpx.AsyncClient) -> StoreWithMenu:
    """A store with the standard menu and its manager's Authorization header."""
    return await _store_with_menu(session, client)


@pytest.fixture
async def store_b(session: AsyncSession, client: httpx.AsyncClient) -> StoreWithMenu:
    """A second store, to prove store A's staff can neither see nor change it."""
    return await _store_with_menu(session, client)
