"""Store hours and zone changes made on one instance reach orders placed on another."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.test_cache_support import cache_settings_for
from tests.orders.builders import Shop, delivery_body, pickup_body
from tests.orders.test_placement_writes import statements_of
from tests.stores.hours_helpers import range_from_now
from tests.stores.test_zones_api import create_zone
from zapora.app import create_app
from zapora.config import Settings
from zapora.dependencies import user_cache_of
from zapora.stores.terms_cache import LOCAL_TTL_SECONDS

# Announcements reach the other instance well within this bound, which is shorter than the
# lifetime of a copy, so passing it shows the copy was dropped rather than expired.
ANNOUNCE_BOUND_SECONDS = 1.0
# Statements that read the store's hours or zones.
TERMS_READS = ("store_opening_hours", "FROM delivery_zones")


@pytest.fixture
async def settings(database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for("redis", database_url) as value:
        yield value


async def _close(app: FastAPI) -> None:
    await app.state.terms_cache.close()
    await app.state.menu_cache.close()
    await user_cache_of(app).close()


@pytest.fixture(autouse=True)
async def _close_caches(app: FastAPI) -> AsyncIterator[None]:
    yield
    await _close(app)


@asynccontextmanager
async def _replica(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        await _close(application)
        await application.state.engine.dispose()


async def _place(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> httpx.Response:
    return await client.post(shop.orders_url, json=body, headers=shop.headers)


async def _keep_copy(app: FastAPI, client: httpx.AsyncClient, shop: Shop, body: Any) -> None:
    """Order until the instance places one from its copy, which needs its subscription."""
    deadline = time.monotonic() + 5
    while True:
        with statements_of(app) as statements:
            response = await _place(client, shop, body)
        assert response.status_code == 201, response.text
        if not any(read in statement for read in TERMS_READS for statement in statements):
            return
        assert time.monotonic() < deadline, "the instance never kept the store's terms"
        await asyncio.sleep(0.05)


async def _seconds_until(
    client: httpx.AsyncClient,
    shop: Shop,
    body: dict[str, Any],
    seen: Callable[[httpx.Response], bool],
) -> float:
    started = time.monotonic()
    while not seen(await _place(client, shop, body)):
        assert time.monotonic() - started < LOCAL_TTL_SECONDS, "the change was never seen"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_new_hours_reach_other_instance(
    client: httpx.AsyncClient, settings: Settings, shop: Shop
) -> None:
    body = pickup_body(shop.menu)
    async with _replica(settings) as (other_app, other):
        await _keep_copy(other_app, other, shop, body)
        later, _, _ = range_from_now(shop.store.time_zone, 120, 60)
        replaced = await client.put(
            f"/api/v1/stores/{shop.store.id}/hours", json=[later], headers=shop.headers
        )
        assert replaced.status_code == 200, replaced.text

        def closed(response: httpx.Response) -> bool:
            return response.status_code == 409 and response.json()["code"] == "store_closed"

        assert await _seconds_until(other, shop, body, closed) < ANNOUNCE_BOUND_SECONDS


async def test_new_zone_reaches_other_instance(
    client: httpx.AsyncClient, settings: Settings, shop: Shop
) -> None:
    body = delivery_body(shop.menu)
    async with _replica(settings) as (other_app, other):
        await _keep_copy(other_app, other, shop, body)
        await create_zone(client, shop)

        def fee_pending(response: httpx.Response) -> bool:
            assert response.status_code == 201, response.text
            return bool(response.json()["fee_pending"])

        assert await _seconds_until(other, shop, body, fee_pending) < ANNOUNCE_BOUND_SECONDS
