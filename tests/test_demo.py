"""The demo seed: a complete store and manager, and a second run that changes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import User
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.config import Settings
from zapora.demo import (
    DEMO_MANAGER_EMAIL,
    DEMO_MANAGER_PASSWORD,
    DEMO_PHONE_NUMBER_ID,
    DEMO_STORE_SLUG,
    seed_demo_store,
)
from zapora.stores.models import Store

COUNTED = (Store, Category, Item, OptionGroup, Option, User)


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in COUNTED:
        counts[model.__name__] = (
            await session.execute(select(func.count()).select_from(model))
        ).scalar_one()
    # Ending the read transaction releases SQLite's write lock for the seed's own engine.
    await session.rollback()
    return counts


async def test_seed_creates_store_menu_and_manager(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    result = await seed_demo_store(settings)

    assert result.store_created
    assert result.menu_created
    assert result.manager_created
    store = await session.scalar(select(Store).where(Store.slug == DEMO_STORE_SLUG))
    assert store is not None
    assert store.id == result.store_id
    assert store.name == "Pizzaria Demo"
    assert store.whatsapp_phone_number_id == DEMO_PHONE_NUMBER_ID
    assert store.whatsapp_access_token == "demo-access-token"
    assert store.time_zone == "America/Sao_Paulo"
    assert store.currency == "BRL"
    assert store.language == "pt-BR"
    assert store.delivery_fee == 700
    assert store.minimum_order == 2000
    assert store.is_open
    items = (await session.scalars(select(Item).where(Item.store_id == store.id))).all()
    assert len(items) >= 12
    assert sum(not item.is_available for item in items) == 1
    manager = await session.scalar(select(User).where(User.email == DEMO_MANAGER_EMAIL))
    assert manager is not None
    assert manager.store_id == store.id
    assert manager.role == "store_manager"


async def test_seed_twice_changes_nothing(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    first = await seed_demo_store(settings)
    counts_after_first = await _counts(session)

    second = await seed_demo_store(settings)

    assert await _counts(session) == counts_after_first
    assert second.store_id == first.store_id
    assert not second.store_created
    assert not second.menu_created
    assert not second.manager_created


async def test_pizza_options_have_sizes_and_extras(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    result = await seed_demo_store(settings)

    groups = (
        await session.scalars(
            select(OptionGroup)
            .join(Item, OptionGroup.item_id == Item.id)
            .where(Item.store_id == result.store_id, Item.name == "Margherita")
            .order_by(OptionGroup.position)
        )
    ).all()
    assert [group.name for group in groups] == ["Tamanho", "Adicionais"]
    size, extras = groups
    assert (size.min_choices, size.max_choices) == (1, 1)
    assert (extras.min_choices, extras.max_choices) == (0, 3)
    sizes = (
        await session.scalars(
            select(Option).where(Option.group_id == size.id).order_by(Option.position)
        )
    ).all()
    assert [option.name[0] for option in sizes] == ["P", "M", "G"]
    assert [option.price for option in sizes] == sorted(option.price for option in sizes)


async def test_manager_logs_in_and_sees_store(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    result = await seed_demo_store(settings)

    login = await client.post(
        "/api/v1/auth/login",
        json={"email": DEMO_MANAGER_EMAIL, "password": DEMO_MANAGER_PASSWORD},
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = await client.get(f"/api/v1/stores/{result.store_id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["slug"] == DEMO_STORE_SLUG
    listed = await client.get("/api/v1/stores", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [store["id"] for store in listed.json()] == [str(result.store_id)]


async def test_public_menu_lists_categories(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_demo_store(settings)

    response = await client.get(f"/api/v1/stores/{DEMO_STORE_SLUG}/menu")

    assert response.status_code == 200, response.text
    menu = response.json()
    assert menu["store"]["name"] == "Pizzaria Demo"
    assert [category["name"] for category in menu["categories"]] == [
        "Pizzas",
        "Bebidas",
        "Sobremesas",
    ]
    pizzas = menu["categories"][0]["items"]
    assert len(pizzas) > 10
