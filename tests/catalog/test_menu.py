"""The public menu: no login, prices in minor units, everything in display order."""

from __future__ import annotations

import uuid

import pytest

from tests.catalog.conftest import StoreWithMenu
from tests.factories import make_menu, make_store
from zapora.catalog.models import Category, Item, Option, OptionGroup


async def test_menu_shows_store_and_prices(client, store_a: StoreWithMenu):
    response = await client.get(f"/api/v1/stores/{store_a.store.slug}/menu")

    assert response.status_code == 200, response.text
    menu = response.json()
    assert menu["store"] == {
        "slug": store_a.store.slug,
        "name": store_a.store.name,
        "currency": "BRL",
        "is_open": True,
        "delivery_fee": 500,
        "minimum_order": 1000,
    }
    [category] = menu["categories"]
    assert category["name"] == "Pizzas"
    assert [item["name"] for item in category["items"]] == ["Margherita", "Soda", "Calzone"]
    assert [item["price"] for item in category["items"]] == [3000, 600, 3500]
    assert [item["is_available"] for item in category["items"]] == [True, True, False]

    pizza = category["items"][0]
    assert pizza["id"] == str(store_a.menu.pizza.id)
    assert [group["name"] for group in pizza["option_groups"]] == ["Size", "Extras"]
    size, extras = pizza["option_groups"]
    assert (size["min_choices"], size["max_choices"]) == (1, 1)
    assert (extras["min_choices"], extras["max_choices"]) == (0, 2)
    assert [(option["name"], option["price"]) for option in size["options"]] == [
        ("Small", 0),
        ("Large", 1500),
    ]
    assert [(option["name"], option["price"]) for option in extras["options"]] == [("Cheese", 400)]
    assert category["items"][1]["option_groups"] == []


async def test_menu_orders_every_level(client, session):
    store = await make_store(session, currency="USD", is_open=False)
    drinks = Category(store_id=store.id, name="Drinks", position=2)
    mains = Category(store_id=store.id, name="Mains", position=1)
    empty = Category(store_id=store.id, name="Desserts", position=2)
    session.add_all([drinks, mains, empty])
    await session.flush()
    water = Item(store_id=store.id, category_id=drinks.id, name="Water", price=200, position=5)
    juice = Item(store_id=store.id, category_id=drinks.id, name="Juice", price=450, position=5)
    cola = Item(store_id=store.id, category_id=drinks.id, name="Cola", price=300, position=9)
    stew = Item(store_id=store.id, category_id=mains.id, name="Stew", price=1800)
    session.add_all([water, juice, cola, stew])
    await session.flush()
    sides = OptionGroup(store_id=store.id, item_id=stew.id, name="Sides", position=2)
    bread = OptionGroup(store_id=store.id, item_id=stew.id, name="Bread", position=1)
    session.add_all([sides, bread])
    await session.flush()
    session.add_all(
        [
            Option(store_id=store.id, group_id=sides.id, name="Salad", price=300, position=2),
            Option(store_id=store.id, group_id=sides.id, name="Rice", price=250, position=1),
            Option(
                store_id=store.id, group_id=sides.id, name="Fries", price=350, is_available=False
            ),
            Option(store_id=store.id, group_id=bread.id, name="Toast", price=100),
        ]
    )
    await session.commit()

    response = await client.get(f"/api/v1/stores/{store.slug}/menu")

    assert response.status_code == 200, response.text
    menu = response.json()
    assert menu["store"]["currency"] == "USD"
    assert menu["store"]["is_open"] is False
    categories = menu["categories"]
    assert [category["name"] for category in categories] == ["Mains", "Desserts", "Drinks"]
    assert categories[1]["items"] == []
    assert [item["name"] for item in categories[2]["items"]] == ["Juice", "Water", "Cola"]
    [stew_out] = categories[0]["items"]
    assert [group["name"] for group in stew_out["option_groups"]] == ["Bread", "Sides"]
    side_options = stew_out["option_groups"][1]["options"]
    assert [option["name"] for option in side_options] == ["Fries", "Rice", "Salad"]
    assert [option["is_available"] for option in side_options] == [False, True, True]
    assert [option["price"] for option in side_options] == [350, 250, 300]


async def test_menu_shows_only_its_store(client, store_a: StoreWithMenu, store_b: StoreWithMenu):
    response = await client.get(f"/api/v1/stores/{store_b.store.slug}/menu")

    item_ids = {item["id"] for item in response.json()["categories"][0]["items"]}
    assert response.status_code == 200
    assert str(store_b.menu.pizza.id) in item_ids
    assert str(store_a.menu.pizza.id) not in item_ids


async def test_menu_follows_catalog_changes(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers
    await client.patch(f"{base}/items/{store_a.menu.soda.id}", json={"price": 650}, headers=headers)
    await client.patch(
        f"{base}/options/{store_a.menu.large.id}", json={"is_available": False}, headers=headers
    )

    response = await client.get(f"/api/v1/stores/{store_a.store.slug}/menu")

    items = response.json()["categories"][0]["items"]
    assert items[1]["price"] == 650
    large = items[0]["option_groups"][0]["options"][1]
    assert large["name"] == "Large"
    assert large["is_available"] is False


@pytest.mark.parametrize(
    "slug",
    ["menu", "categories", "not-a-uuid", str(uuid.UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6"))],
)
async def test_menu_works_for_any_slug(client, session, slug):
    store = await make_store(session, slug=slug)
    await make_menu(session, store)
    await session.commit()

    response = await client.get(f"/api/v1/stores/{slug}/menu")

    assert response.status_code == 200, response.text
    assert response.json()["store"]["slug"] == slug
    assert response.json()["categories"][0]["name"] == "Pizzas"


@pytest.mark.parametrize(
    "slug", ["unknown-store", "UPPER", "bad%00slug", "a" * 300, "%C3%A9", "x%20y"]
)
async def test_menu_unknown_slug_is_404(client, store_a: StoreWithMenu, slug):
    response = await client.get(f"/api/v1/stores/{slug}/menu")

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_store_path_with_slug_is_422(client, store_a: StoreWithMenu):
    response = await client.get(f"/api/v1/stores/{store_a.store.slug}", headers=store_a.headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "path.store_id"
