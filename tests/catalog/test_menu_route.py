"""The public menu route: cached JSON sent as stored, and slugs remembered per process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import close_app, metric
from zapora.catalog.schemas import MenuOut
from zapora.stores.models import Store

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
