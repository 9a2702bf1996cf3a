"""Menus kept in each process's memory: hits without Redis, dropped when another replica writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import (
    SHARED_REDIS_URL,
    cache_settings_for,
    close_app,
    metric,
    replica,
)
from zapora.catalog import cache as menu_cache_module
from zapora.catalog.schemas import MenuOut
from zapora.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

# How long another replica may take to see a change, when the invalidation reaches it.
PROPAGATION_BOUND_SECONDS = 1.0


@pytest.fixture
async def settings(database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for("redis", database_url) as value:
        yield value


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _soda_price(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    categories = response.json()["categories"]
    return next(
        item["price"]
        for category in categories
        for item in category["items"]
        if item["name"] == "Soda"
    )


async def _price_seen_within(
    http: httpx.AsyncClient, url: str, price: int, seconds: float
) -> float | None:
    """Read the menu until the Soda costs ``price``. Return the seconds that took, or None."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _soda_price(await http.get(url)) == price:
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    return None


async def _commands_served(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        info = await client.info("stats")
    finally:
        await client.aclose()
    return int(info["total_commands_processed"])


async def test_cached_read_skips_redis(
    client: httpx.AsyncClient, settings: Settings, store_a: StoreWithMenu
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    first = await client.get(url)
    hits = metric("menu", "hit")
    before = await _commands_served(SHARED_REDIS_URL)
    again = [await client.get(url) for _ in range(20)]
    # The INFO call that reads the count is itself one command.
    commands = await _commands_served(SHARED_REDIS_URL) - before - 1

    assert [response.text for response in again] == [first.text] * 20
    assert metric("menu", "hit") == hits + 20
    # The shared Redis may serve other test runs at the same time, so allow a few commands.
    assert commands < 20


async def test_edit_on_one_replica_reaches_the_other(
    client: httpx.AsyncClient, settings: Settings, store_a: StoreWithMenu
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    async with replica(settings) as (_, other):
        # Both processes now keep the menu in memory.
        assert _soda_price(await client.get(url)) == 600
        assert _soda_price(await other.get(url)) == 600
        assert _soda_price(await other.get(url)) == 600

        changed = await client.patch(
            f"{store_a.base}/items/{store_a.menu.soda.id}",
            json={"price": 650},
            headers=store_a.headers,
        )
        assert changed.status_code == 200, changed.text
        on_writer = _soda_price(await client.get(url))
        delay = await _price_seen_within(other, url, 650, PROPAGATION_BOUND_SECONDS)

        changed_back = await other.patch(
            f"{store_a.base}/items/{store_a.menu.soda.id}",
            json={"price": 600},
            headers=store_a.headers,
        )
        assert changed_back.status_code == 200, changed_back.text
        back_delay = await _price_seen_within(client, url, 600, PROPAGATION_BOUND_SECONDS)

    assert on_writer == 650
    assert delay is not None, "the other replica still served the old menu after 1 s"
    assert back_delay is not None, "the first replica still served the old menu after 1 s"


async def test_lost_messages_are_bounded_by_local_lifetime(
    client: httpx.AsyncClient,
    settings: Settings,
    store_a: StoreWithMenu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subscription that dies without an error stops serving the old menu in time."""
    monkeypatch.setattr(menu_cache_module, "LOCAL_TTL_SECONDS", 1.5)
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    async with replica(settings) as (other_app, other):
        assert _soda_price(await other.get(url)) == 600
        # The other replica's subscription stays open but receives no message any more.
        monkeypatch.setattr(other_app.state.menu_cache.channel, "on_message", lambda _: None)
        assert _soda_price(await other.get(url)) == 600

        changed = await client.patch(
            f"{store_a.base}/items/{store_a.menu.soda.id}",
            json={"price": 650},
            headers=store_a.headers,
        )
        assert changed.status_code == 200, changed.text
        stale = _soda_price(await other.get(url))
        delay = await _price_seen_within(other, url, 650, 3.0)

    # Without the message the old copy is still served, until it expires.
    assert stale == 600
    assert delay is not None
    # The slack covers a slow request on a busy machine. Without the lifetime the old copy
    # would be served for the whole 3 s window and the delay would be None.
    assert delay <= 1.5 + 0.8


async def test_kept_menu_is_parsed_once_per_version(
    client: httpx.AsyncClient, app: FastAPI, store_a: StoreWithMenu
) -> None:
    menu_cache = app.state.menu_cache
    store_id = store_a.store.id
    # Copies are kept once the subscription is confirmed, which takes a moment.
    deadline = time.monotonic() + 1.0
    for _ in range(100):
        first = await menu_cache.menu_of_store(store_id)
        again = await menu_cache.menu_of_store(store_id)
        if again is first or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)

    changed = await client.patch(
        f"{store_a.base}/items/{store_a.menu.soda.id}",
        json={"price": 650},
        headers=store_a.headers,
    )
    assert changed.status_code == 200, changed.text
    after = await menu_cache.menu_of_store(store_id)

    assert first is not None
    assert again is first
    assert after is not None
    assert after is not first

    def soda(menu: MenuOut) -> int:
        return next(
            item.price
            for category in menu.categories
            for item in category.items
            if item.id == store_a.menu.soda.id
        )

    assert soda(first) == 600
    assert soda(after) == 650
