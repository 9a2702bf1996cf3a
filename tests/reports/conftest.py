"""Fixtures: a São Paulo store with a manager and a dated order history, and a second store."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.orders.builders import Shop, make_shop
from tests.reports.history import History, make_history
from zapora.config import Settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    # These tests call the API more often than the default per-address limit allows.
    return make_settings(database_url, rate_limit_enabled=False)


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    return await make_shop(session, client, time_zone="America/Sao_Paulo")


@pytest.fixture
async def other_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    return await make_shop(session, client, time_zone="America/Sao_Paulo")


@pytest.fixture
async def history(session: AsyncSession, shop: Shop, other_shop: Shop) -> History:
    """The shop's dated orders; the other store gets the same orders, which must not count."""
    built = await make_history(session, shop.store, shop.menu)
    await make_history(session, other_shop.store, other_shop.menu)
    await session.commit()
    return built
