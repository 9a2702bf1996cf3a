"""The public menu through the cache: hits and misses, fresh reads after writes, stampedes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import StoreWithMenu
from tests.catalog.test_cache_support import (
    CACHE_BACKENDS,
    cache_settings_for,
    close_app,
    menu_queries,
    metric,
)
from tests.factories import make_menu, make_store
from zapora.audit.service import SYSTEM
from zapora.catalog import service
from zapora.catalog.cache import commit_and_publish, load_menu_out, menu_cache_of
from zapora.catalog.changes import has_menu_change, note_menu_change
from zapora.catalog.schemas import ItemUpdate
from zapora.config import Settings
from zapora.stores.models import Store

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@pytest.fixture(params=CACHE_BACKENDS)
async def settings(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for(request.param, database_url) as value:
        yield value


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _menu_url(store: StoreWithMenu) -> str:
    return f"/api/v1/stores/{store.store.slug}/menu"


def _items(menu: dict[str, object]) -> dict[str, dict[str, object]]:
    categories = menu["categories"]
    assert isinstance(categories, list)
    return {item["name"]: item for category in categories for item in category["items"]}


async def test_second_read_is_a_hit(client: httpx.AsyncClient, store_a: StoreWithMenu) -> None:
    misses, hits = metric("menu", "miss"), metric("menu", "hit")
    slug_misses, slug_hits = metric("store_slug", "miss"), metric("store_slug", "hit")

    first = await client.get(_menu_url(store_a))
    second = await client.get(_menu_url(store_a))

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert metric("menu", "miss") == misses + 1
    assert metric("menu", "hit") == hits + 1
    assert metric("store_slug", "miss") == slug_misses + 1
    assert metric("store_slug", "hit") == slug_hits + 1


async def test_cache_holds_menu_json(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    response = await client.get(_menu_url(store_a))
    menu_cache = app.state.menu_cache

    key = await menu_cache.menu_key(store_a.store.id)
    cached = await menu_cache.read_through.cache.get(key)

    assert isinstance(cached, bytes)
    assert json.loads(cached) == response.json()


async def test_item_change_is_read_at_once(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    await client.get(_menu_url(store_a))
    pizza = store_a.menu.pizza

    changed = await client.patch(
        f"{store_a.base}/items/{pizza.id}",
        json={"name": "Marinara", "price": 3300},
        headers=store_a.headers,
    )
    assert changed.status_code == 200, changed.text
    items = _items((await client.get(_menu_url(store_a))).json())

    assert "Margherita" not in items
    assert items["Marinara"]["price"] == 3300


async def test_every_catalog_write_is_read_at_once(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    menu, base, headers = store_a.menu, store_a.base, store_a.headers
    writes = [
        ("post", "/categories", {"name": "Drinks", "position": 2}),
        ("patch", f"/categories/{menu.category.id}", {"name": "Pizzas and more"}),
        ("post", "/items", {"category_id": str(menu.category.id), "name": "Juice", "price": 900}),
        ("patch", f"/items/{menu.soda.id}", {"is_available": False}),
        ("post", "/option-groups", {"item_id": str(menu.soda.id), "name": "Ice"}),
        ("patch", f"/option-groups/{menu.extras.id}", {"max_choices": 1}),
        ("post", "/options", {"group_id": str(menu.size.id), "name": "Huge", "price": 2500}),
        ("patch", f"/options/{menu.large.id}", {"price": 1700}),
        ("delete", f"/options/{menu.cheese.id}", None),
        ("delete", f"/option-groups/{menu.extras.id}", None),
        ("delete", f"/items/{menu.sold_out.id}", None),
    ]
    previous = (await client.get(_menu_url(store_a))).json()
    for method, path, body in writes:
        response = await client.request(method, f"{base}{path}", json=body, headers=headers)
        assert response.status_code in (200, 201, 204), (path, response.text)
        current = (await client.get(_menu_url(store_a))).json()
        assert current != previous, f"{method} {path} left the cached menu unchanged"
        previous = current

    removed = await client.delete(f"{base}/categories/{menu.category.id}", headers=headers)
    assert removed.status_code == 204
    names = [
        category["name"] for category in (await client.get(_menu_url(store_a))).json()["categories"]
    ]
    assert names == ["Drinks"]


async def test_store_change_is_read_at_once(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    await client.get(_menu_url(store_a))

    changed = await client.patch(
        f"/api/v1/stores/{store_a.store.id}",
        json={"name": "Closed for now", "is_open": False, "delivery_fee": 900},
        headers=store_a.headers,
    )
    assert changed.status_code == 200, changed.text
    store = (await client.get(_menu_url(store_a))).json()["store"]

    assert store["name"] == "Closed for now"
    assert store["is_open"] is False
    assert store["delivery_fee"] == 900


async def test_failed_write_keeps_cached_menu(
    client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    before = (await client.get(_menu_url(store_a))).json()
    misses = metric("menu", "miss")

    rejected = await client.patch(
        f"{store_a.base}/option-groups/{store_a.menu.size.id}",
        json={"min_choices": 5},
        headers=store_a.headers,
    )
    after = await client.get(_menu_url(store_a))

    assert rejected.status_code == 422
    assert after.json() == before
    assert metric("menu", "miss") == misses


async def test_cold_menu_loads_once(
    app: FastAPI, client: httpx.AsyncClient, store_a: StoreWithMenu
) -> None:
    misses, hits = metric("menu", "miss"), metric("menu", "hit")

    with menu_queries(app.state.engine) as statements:
        responses = await asyncio.gather(*(client.get(_menu_url(store_a)) for _ in range(50)))

    assert [response.status_code for response in responses] == [200] * 50
    assert len({response.text for response in responses}) == 1
    assert len(statements) == 1, statements
    assert metric("menu", "miss") == misses + 1
    assert metric("menu", "hit") == hits + 49


async def test_unknown_slugs_are_404(client: httpx.AsyncClient, store_a: StoreWithMenu) -> None:
    for slug in ("no-such-store", "Not A Slug", "a" * 65, "x%00y"):
        response = await client.get(f"/api/v1/stores/{slug}/menu")
        assert response.status_code == 404, (slug, response.text)
        assert response.json()["errors"][0]["field"] == "slug"


async def test_new_store_is_found_after_a_miss(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    slug = f"late-{uuid.uuid4().hex[:8]}"
    assert (await client.get(f"/api/v1/stores/{slug}/menu")).status_code == 404

    store = await make_store(session, slug=slug)
    await make_menu(session, store)
    await session.commit()
    response = await client.get(f"/api/v1/stores/{slug}/menu")

    assert response.status_code == 200, response.text
    assert response.json()["store"]["slug"] == slug


async def test_late_loader_cannot_hide_a_write(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, store_a: StoreWithMenu
) -> None:
    """A reader that loaded the menu before a write commits stores it under the old version."""
    menu_cache = app.state.menu_cache
    store_id = store_a.store.id
    old_menu = await load_menu_out(session, store_id)
    assert old_menu is not None
    await session.commit()
    loaded = asyncio.Event()
    release = asyncio.Event()

    async def key() -> str:
        key: str = await menu_cache.menu_key(store_id)
        return key

    async def load_old_rows() -> bytes:
        loaded.set()
        await release.wait()
        return old_menu.model_dump_json().encode()

    late_reader = asyncio.create_task(
        menu_cache.read_through.fetch("menu", key, load_old_rows, ttl_seconds=60)
    )
    await loaded.wait()
    changed = await client.patch(
        f"{store_a.base}/items/{store_a.menu.soda.id}", json={"price": 650}, headers=store_a.headers
    )
    assert changed.status_code == 200, changed.text
    release.set()
    assert await late_reader == old_menu.model_dump_json().encode()

    items = _items((await client.get(_menu_url(store_a))).json())
    assert items["Soda"]["price"] == 650


async def test_commit_and_publish_outside_requests(
    client: httpx.AsyncClient, session: AsyncSession, store_a: StoreWithMenu
) -> None:
    await client.get(_menu_url(store_a))
    soda = await service.get_item(session, store_a.store.id, store_a.menu.soda.id)

    await service.update_item(session, soda, ItemUpdate(price=720), actor=SYSTEM)
    assert has_menu_change(session, store_a.store.id)
    await commit_and_publish(session)

    assert not has_menu_change(session, store_a.store.id)
    assert _items((await client.get(_menu_url(store_a))).json())["Soda"]["price"] == 720


async def test_own_uncommitted_change_skips_cache(
    session: AsyncSession, store_a: StoreWithMenu
) -> None:
    menu_cache = menu_cache_of(session)
    assert menu_cache is not None
    store_id, name = store_a.store.id, store_a.store.name
    assert (await menu_cache.menu_of_store(store_id)) is not None
    store = await session.get(Store, store_id)
    assert store is not None

    store.name = "Renamed in an open transaction"
    await session.flush()
    note_menu_change(session, store_id)
    seen_by_writer = await menu_cache.menu_of_store(store_id, session)
    await session.rollback()
    seen_by_others = await menu_cache.menu_of_store(store_id)

    assert seen_by_writer is not None
    assert seen_by_writer.store.name == "Renamed in an open transaction"
    assert seen_by_others is not None
    assert seen_by_others.store.name == name
