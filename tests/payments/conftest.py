"""Fixtures: a store taking PIX with a logged-in manager, and a store without a PIX key."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, make_shop

PIX_KEY = "+5511912345678"


@pytest.fixture
async def pix_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A store whose PIX codes pay its phone key, with an accented name and city."""
    return await make_shop(
        session,
        client,
        pix_key=PIX_KEY,
        pix_merchant_name="Pizzaria São João Ltda. & Filhos",
        pix_merchant_city="São José dos Campos",
    )


@pytest.fixture
async def plain_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A store without a PIX key."""
    return await make_shop(session, client)
