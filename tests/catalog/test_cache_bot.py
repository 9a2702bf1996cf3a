"""The WhatsApp conversation reads the cached menu and sees staff changes at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.test_cache_support import (
    CACHE_BACKENDS,
    cache_settings_for,
    close_app,
    metric,
    replica,
)
from tests.factories import login, make_user
from tests.whatsapp.test_conversation_support import (
    body_text,
    open_chat,
    option_ids,
    option_titles,
    row_descriptions,
)
from zapora.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


@pytest.fixture(params=CACHE_BACKENDS)
async def settings(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Settings]:
    async with cache_settings_for(request.param, database_url) as value:
        yield value


@pytest.fixture(autouse=True)
async def _close_menu_cache(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_app(app)


def _item_rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the title and description of each item row in a list, skipping navigation rows."""
    rows = zip(option_ids(body), option_titles(body), row_descriptions(body), strict=True)
    return [
        (title, description) for row_id, title, description in rows if row_id.startswith("item:")
    ]


async def test_bot_sees_item_changes_at_once(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    chat, menu = await open_chat(session, settings)
    manager = await make_user(session, chat.store)
    await session.commit()
    headers = await login(client, manager)
    base = f"/api/v1/stores/{chat.store.id}"
    category = f"cat:{menu.category.id}"
    await chat.text("oi")
    hits = metric("menu", "hit")
    items = await chat.one(await chat.tap(category))
    assert _item_rows(items) == [("Margherita", "R$ 30,00"), ("Soda", "R$ 6,00")]
    assert metric("menu", "hit") > hits
    # The chat's last read left a transaction open, which would block the API's write on SQLite.
    await session.commit()

    renamed = await client.patch(
        f"{base}/items/{menu.soda.id}", json={"name": "Guaraná", "price": 700}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    items = await chat.one(await chat.tap(category))
    assert _item_rows(items) == [("Margherita", "R$ 30,00"), ("Guaraná", "R$ 7,00")]
    await session.commit()

    hidden = await client.patch(
        f"{base}/items/{menu.soda.id}", json={"is_available": False}, headers=headers
    )
    assert hidden.status_code == 200, hidden.text
    items = await chat.one(await chat.tap(category))
    assert _item_rows(items) == [("Margherita", "R$ 30,00")]
    await session.commit()

    repriced = await client.patch(
        f"{base}/options/{menu.large.id}", json={"price": 1700}, headers=headers
    )
    assert repriced.status_code == 200, repriced.text
    size = await chat.one(await chat.tap(f"item:{menu.pizza.id}"))
    assert "+ R$ 17,00" in body_text(size)


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
async def test_bot_sees_change_made_on_another_replica(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    chat, menu = await open_chat(session, settings)
    manager = await make_user(session, chat.store)
    await session.commit()
    welcome = await chat.one(await chat.text("oi"))
    assert f"cat:{menu.category.id}" in option_ids(welcome)
    await session.commit()

    async with replica(settings) as (_, other):
        headers = await login(other, manager)
        added = await other.post(
            f"/api/v1/stores/{chat.store.id}/categories",
            json={"name": "Drinks", "position": 0},
            headers=headers,
        )
        assert added.status_code == 201, added.text
        drinks = added.json()["id"]
        item = await other.post(
            f"/api/v1/stores/{chat.store.id}/items",
            json={"category_id": drinks, "name": "Water", "price": 300},
            headers=headers,
        )
        assert item.status_code == 201, item.text

    menu_list = await chat.one(await chat.text("menu"))
    categories = [row_id for row_id in option_ids(menu_list) if row_id.startswith("cat:")]
    assert categories == [f"cat:{drinks}", f"cat:{menu.category.id}"]
