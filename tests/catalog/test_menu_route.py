"""The public menu route: cached JSON sent as stored, slugs remembered per process, and menus
in memory served before routing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import close_app, metric
from zapora.catalog.cache import MenuCache, get_menu_cache
from zapora.catalog.schemas import MenuOut
from zapora.stores.models import Store

MENU_TEMPLATE = "/api/v1/stores/{slug}/menu"

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _menu_url(store: StoreWithMenu) -> str:
    return f"/api/v1/stores/{store.store.slug}/menu"


async def test_menu_body_is_cached_json(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    await client.get(_menu_url(store_a))
    response = await client.get(_menu_url(store_a))

    menu_cache = app.state.menu_cache
    cached = await menu_cache.read_through.cache.get(await menu_cache.menu_key(store_a.store.id))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == cached
    assert MenuOut.model_validate_json(response.content).store.name == store_a.store.name


async def test_known_slug_skips_cache_lookup(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    first = await client.get(_menu_url(store_a))
    slug_key = app.state.menu_cache._key("store-slug", store_a.store.slug)
    await app.state.menu_cache.read_through.cache.delete(slug_key)
    slug_misses = metric("store_slug", "miss")

    second = await client.get(_menu_url(store_a))

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert metric("store_slug", "miss") == slug_misses
    assert await app.state.menu_cache.read_through.cache.get(slug_key) is None


async def test_deleted_store_menu_is_404(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, store_a: StoreWithMenu
) -> None:
    assert (await client.get(_menu_url(store_a))).status_code == 200
    await session.execute(delete(Store).where(Store.id == store_a.store.id))
    await session.commit()
    await app.state.menu_cache.publish([store_a.store.id])

    response = await client.get(_menu_url(store_a))

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert store_a.store.slug not in app.state.menu_cache._slug_ids


async def test_unknown_slug_is_404(client: httpx.AsyncClient, store_a: StoreWithMenu) -> None:
    response = await client.get("/api/v1/stores/no-such-store/menu")

    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "slug"


def _menu_requests() -> float:
    labels = {"route": MENU_TEMPLATE, "method": "GET", "status": "200"}
    return REGISTRY.get_sample_value("zapora_http_requests_total", labels) or 0.0


async def _route_not_reached() -> MenuCache:
    raise HTTPException(status_code=503, detail="the menu route ran")


async def test_memory_menu_skips_routing(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    first = await client.get(_menu_url(store_a))
    # From now on the route fails, so only a read from memory can succeed.
    app.dependency_overrides[get_menu_cache] = _route_not_reached
    menu_hits = metric("menu", "hit")
    slug_hits = metric("store_slug", "hit")
    requests = _menu_requests()

    second = await client.get(_menu_url(store_a))

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.content == first.content
    assert metric("menu", "hit") == menu_hits + 1
    assert metric("store_slug", "hit") == slug_hits + 1
    assert _menu_requests() == requests + 1


async def test_memory_read_has_route_headers(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    routed = await client.get(_menu_url(store_a))
    from_memory = await client.get(_menu_url(store_a))

    assert [name for name, _ in routed.headers.multi_items()] == [
        name for name, _ in from_memory.headers.multi_items()
    ]
    for name in ("content-length", "content-type", "content-security-policy", "ratelimit-limit"):
        assert from_memory.headers[name] == routed.headers[name]
    assert from_memory.headers["x-request-id"] != routed.headers["x-request-id"]


async def test_memory_read_counts_rate_limit(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    await client.get(_menu_url(store_a))
    first = await client.get(_menu_url(store_a), headers={"X-Request-ID": "menu-read-1"})
    second = await client.get(_menu_url(store_a))

    assert first.headers["x-request-id"] == "menu-read-1"
    remaining = int(first.headers["ratelimit-remaining"])
    assert int(second.headers["ratelimit-remaining"]) == remaining - 1


async def test_other_requests_use_routes(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    assert (await client.get(_menu_url(store_a))).status_code == 200
    app.dependency_overrides[get_menu_cache] = _route_not_reached

    head = await client.head(_menu_url(store_a))
    post = await client.post(_menu_url(store_a))
    nested = await client.get(f"/api/v1/stores/{store_a.store.slug}/x/menu")

    assert head.status_code == 405
    assert post.status_code == 405
    assert nested.status_code == 404


async def test_local_copy_dropped_on_publish(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    menu_cache = app.state.menu_cache
    slug = store_a.store.slug
    assert menu_cache.local_menu_json(slug) is None
    body = (await client.get(_menu_url(store_a))).content
    in_memory = menu_cache.local_menu_json(slug)
    await menu_cache.publish([store_a.store.id])
    dropped = menu_cache.local_menu_json(slug)
    reread = (await client.get(_menu_url(store_a))).content

    assert in_memory == body
    assert dropped is None
    assert menu_cache.local_menu_json(slug) == reread
    assert menu_cache.local_menu_json("no-such-store") is None
