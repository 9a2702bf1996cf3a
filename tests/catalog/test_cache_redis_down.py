"""Redis failing under the menu cache: requests keep succeeding from the database."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import PrivateRedis, cache_settings, close_app, metric
from zapora.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis.create()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def settings(database_url: str, private_redis: PrivateRedis) -> Settings:
    await private_redis.start()
    return cache_settings(database_url, private_redis.url)


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    """Return the structlog event dicts named ``name`` among the captured records."""
    return [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == name
    ]


def _soda_price(menu: dict[str, object]) -> int:
    categories = menu["categories"]
    assert isinstance(categories, list)
    prices = {item["name"]: item["price"] for category in categories for item in category["items"]}
    return int(prices["Soda"])


async def _wait_until_unsubscribed(app: FastAPI) -> None:
    """Give the event loop the time to see that the invalidation channel lost Redis."""
    channel = app.state.menu_cache.channel
    for _ in range(200):
        if not channel.listening:
            return
        await asyncio.sleep(0.01)
    pytest.fail("the menu cache still listens 2 s after Redis died")


async def test_menu_served_while_redis_is_dead(
    app: FastAPI,
    client: httpx.AsyncClient,
    private_redis: PrivateRedis,
    store_a: StoreWithMenu,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    expected = (await client.get(url)).json()
    hits = metric("menu", "hit")
    assert (await client.get(url)).json() == expected
    assert metric("menu", "hit") == hits + 1

    private_redis.kill()
    # Until then the process serves its own copy, which no write could have changed.
    await _wait_until_unsubscribed(app)
    errors = metric("menu", "error")
    with caplog.at_level(logging.INFO, logger="zapora.cache"):
        responses = [await client.get(url) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert all(response.json() == expected for response in responses)
    assert metric("menu", "error") == errors + 5
    assert len(_events(caplog, "cache.backend_failed")) == 1


async def test_write_while_redis_is_dead(
    client: httpx.AsyncClient,
    private_redis: PrivateRedis,
    store_a: StoreWithMenu,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    assert _soda_price((await client.get(url)).json()) == 600
    private_redis.kill()
    publish_errors = metric("menu_version", "error")

    changed = await client.patch(
        f"{store_a.base}/items/{store_a.menu.soda.id}", json={"price": 650}, headers=store_a.headers
    )
    assert changed.status_code == 200, changed.text
    assert metric("menu_version", "error") == publish_errors + 1
    assert _soda_price((await client.get(url)).json()) == 650

    await private_redis.start()
    served = metric("menu", "miss") + metric("menu", "hit")
    with caplog.at_level(logging.INFO, logger="zapora.cache"):
        for _ in range(3):
            menu = (await client.get(url)).json()
            if metric("menu", "miss") + metric("menu", "hit") > served:
                break
    assert metric("menu", "miss") + metric("menu", "hit") == served + 1
    assert _soda_price(menu) == 650
    assert len(_events(caplog, "cache.backend_recovered")) == 1


async def test_failed_publish_is_retried(
    client: httpx.AsyncClient, private_redis: PrivateRedis, store_a: StoreWithMenu
) -> None:
    """Redis that refuses writes for a while, then comes back with the old menu still cached."""
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    assert _soda_price((await client.get(url)).json()) == 600
    pause_seconds = 3.0
    admin = redis.Redis.from_url(private_redis.url)
    try:
        await admin.execute_command("CLIENT", "PAUSE", int(pause_seconds * 1000), "WRITE")
        paused_until = time.monotonic() + pause_seconds
        publish_errors = metric("menu_version", "error")

        changed = await client.patch(
            f"{store_a.base}/items/{store_a.menu.soda.id}",
            json={"price": 650},
            headers=store_a.headers,
        )
        assert changed.status_code == 200, changed.text
        assert metric("menu_version", "error") == publish_errors + 1
        assert _soda_price((await client.get(url)).json()) == 650
        assert time.monotonic() < paused_until, "the pause ended too early to test anything"

        await asyncio.sleep(paused_until - time.monotonic() + 0.1)
        misses = metric("menu", "miss")
        assert _soda_price((await client.get(url)).json()) == 650
        assert metric("menu", "miss") == misses + 1
    finally:
        await admin.aclose()
