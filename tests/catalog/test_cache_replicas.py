"""Two application instances sharing one database and one Redis, as replicas do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import (
    cache_settings_for,
    close_app,
    menu_queries,
    metric,
    replica,
)
from zapora.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@pytest.fixture
async def settings(database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for("redis", database_url) as value:
        yield value


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _prices(menu: dict[str, object]) -> dict[str, int]:
    categories = menu["categories"]
    assert isinstance(categories, list)
    return {item["name"]: item["price"] for category in categories for item in category["items"]}


async def test_write_on_one_replica_is_read_on_another(
    client: httpx.AsyncClient, settings: Settings, store_a: StoreWithMenu
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    async with replica(settings) as (_, other):
        assert _prices((await other.get(url)).json())["Soda"] == 600
        hits = metric("menu", "hit")
        assert _prices((await other.get(url)).json())["Soda"] == 600
        assert metric("menu", "hit") == hits + 1

        changed = await client.patch(
            f"{store_a.base}/items/{store_a.menu.soda.id}",
            json={"price": 650},
            headers=store_a.headers,
        )
        assert changed.status_code == 200, changed.text
        closed = await client.patch(
            f"/api/v1/stores/{store_a.store.id}", json={"is_open": False}, headers=store_a.headers
        )
        assert closed.status_code == 200, closed.text
        menu = (await other.get(url)).json()

    assert _prices(menu)["Soda"] == 650
    assert menu["store"]["is_open"] is False


async def test_replica_reads_menu_another_loaded(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, store_a: StoreWithMenu
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    first = await client.get(url)
    async with replica(settings) as (other_app, other):
        with menu_queries(other_app.state.engine) as statements:
            second = await other.get(url)

    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert statements == []


async def test_cold_menu_loads_once_across_replicas(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, store_a: StoreWithMenu
) -> None:
    url = f"/api/v1/stores/{store_a.store.slug}/menu"
    misses = metric("menu", "miss")
    async with replica(settings) as (other_app, other):
        with (
            menu_queries(app.state.engine) as statements,
            menu_queries(other_app.state.engine) as other_statements,
        ):
            responses = await asyncio.gather(
                *(instance.get(url) for instance in (client, other) for _ in range(20))
            )

    assert [response.status_code for response in responses] == [200] * 40
    assert len({response.text for response in responses}) == 1
    assert len(statements) + len(other_statements) == 1
    assert metric("menu", "miss") == misses + 1
