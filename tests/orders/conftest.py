"""Fixtures: a store with a menu and a logged-in manager, and a second such store."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, make_shop


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A store with the standard menu and its manager's Authorization header."""
    return await make_shop(session, client)


@pytest.fixture
async def other_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A second store whose staff must not see or change the first store's orders."""
    return await make_shop(session, client)
