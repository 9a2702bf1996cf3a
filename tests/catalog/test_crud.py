"""Create, read, list, update and delete every catalog object through the API."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.catalog.conftest import StoreWithMenu
from zapora.catalog.models import Category, Item, Option, OptionGroup


async def test_category_crud(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers

    created = await client.post(
        f"{base}/categories", json={"name": "  Drinks ", "position": 5}, headers=headers
    )
    assert created.status_code == 201, created.text
    category = created.json()
    assert category["name"] == "Drinks"
    assert category["position"] == 5

    fetched = await client.get(f"{base}/categories/{category['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == category

    patched = await client.patch(
        f"{base}/categories/{category['id']}", json={"name": "Cold drinks"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Cold drinks"
    assert patched.json()["position"] == 5

    deleted = await client.delete(f"{base}/categories/{category['id']}", headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await client.get(f"{base}/categories/{category['id']}", headers=headers)
    assert gone.status_code == 404


async def test_categories_list_by_position_then_name(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers
    for name, position in [("Salads", 2), ("Desserts", 3), ("Burgers", 2), ("Starters", 0)]:
        response = await client.post(
            f"{base}/categories", json={"name": name, "position": position}, headers=headers
        )
        assert response.status_code == 201, response.text

    response = await client.get(f"{base}/categories", headers=headers)

    assert response.status_code == 200
    names = [category["name"] for category in response.json()]
    assert names == ["Starters", "Pizzas", "Burgers", "Salads", "Desserts"]


async def test_item_crud(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers
    other = await client.post(f"{base}/categories", json={"name": "Drinks"}, headers=headers)
    drinks_id = other.json()["id"]

    created = await client.post(
        f"{base}/items",
        json={
            "category_id": str(store_a.menu.category.id),
            "name": "Napoletana",
            "description": "Anchovies,\ncapers",
            "price": 3250,
            "position": 4,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["category_id"] == str(store_a.menu.category.id)
    assert item["name"] == "Napoletana"
    assert item["description"] == "Anchovies,\ncapers"
    assert item["price"] == 3250
    assert item["currency"] == "BRL"
    assert item["is_available"] is True
    assert item["position"] == 4

    fetched = await client.get(f"{base}/items/{item['id']}", headers=headers)
    assert fetched.json() == item

    patched = await client.patch(
        f"{base}/items/{item['id']}",
        json={"category_id": drinks_id, "price": 0, "is_available": False},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["category_id"] == drinks_id
    assert patched.json()["price"] == 0
    assert patched.json()["is_available"] is False
    assert patched.json()["name"] == "Napoletana"

    in_drinks = await client.get(
        f"{base}/items", params={"category_id": drinks_id}, headers=headers
    )
    assert [row["id"] for row in in_drinks.json()] == [item["id"]]

    deleted = await client.delete(f"{base}/items/{item['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{base}/items/{item['id']}", headers=headers)
    assert gone.status_code == 404


async def test_items_list_in_order(client, store_a: StoreWithMenu):
    response = await client.get(f"{store_a.base}/items", headers=store_a.headers)

    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["Margherita", "Soda", "Calzone"]
    assert [item["price"] for item in response.json()] == [3000, 600, 3500]


async def test_option_group_crud(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers
    soda_id = str(store_a.menu.soda.id)

    created = await client.post(
        f"{base}/option-groups",
        json={"item_id": soda_id, "name": "Ice", "min_choices": 0, "max_choices": 3},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["item_id"] == soda_id
    assert group["name"] == "Ice"
    assert group["min_choices"] == 0
    assert group["max_choices"] == 3
    assert group["position"] == 0

    fetched = await client.get(f"{base}/option-groups/{group['id']}", headers=headers)
    assert fetched.json() == group

    patched = await client.patch(
        f"{base}/option-groups/{group['id']}", json={"min_choices": 3}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["min_choices"] == 3
    assert patched.json()["max_choices"] == 3

    of_soda = await client.get(
        f"{base}/option-groups", params={"item_id": soda_id}, headers=headers
    )
    assert [row["id"] for row in of_soda.json()] == [group["id"]]
    of_pizza = await client.get(
        f"{base}/option-groups", params={"item_id": str(store_a.menu.pizza.id)}, headers=headers
    )
    assert [row["name"] for row in of_pizza.json()] == ["Size", "Extras"]

    deleted = await client.delete(f"{base}/option-groups/{group['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{base}/option-groups/{group['id']}", headers=headers)
    assert gone.status_code == 404


async def test_option_crud(client, store_a: StoreWithMenu):
    base, headers = store_a.base, store_a.headers
    size_id = str(store_a.menu.size.id)

    created = await client.post(
        f"{base}/options",
        json={"group_id": size_id, "name": "Family", "price": 2500, "position": 3},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    option = created.json()
    assert option["group_id"] == size_id
    assert option["name"] == "Family"
    assert option["price"] == 2500
    assert option["currency"] == "BRL"
    assert option["is_available"] is True
    assert option["position"] == 3

    fetched = await client.get(f"{base}/options/{option['id']}", headers=headers)
    assert fetched.json() == option

    moved = await client.patch(
        f"{base}/options/{option['id']}",
        json={"group_id": str(store_a.menu.extras.id), "is_available": False},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["group_id"] == str(store_a.menu.extras.id)
    assert moved.json()["is_available"] is False
    assert moved.json()["price"] == 2500

    of_size = await client.get(f"{base}/options", params={"group_id": size_id}, headers=headers)
    assert [row["name"] for row in of_size.json()] == ["Small", "Large"]

    deleted = await client.delete(f"{base}/options/{option['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{base}/options/{option['id']}", headers=headers)
    assert gone.status_code == 404


async def _count(session, model, store_id) -> int:
    query = select(func.count()).select_from(model).where(model.store_id == store_id)
    count = await session.scalar(query)
    # Ending the read transaction releases SQLite's write lock for the next request.
    await session.commit()
    return int(count or 0)


async def test_category_delete_cascades(client, session, store_a: StoreWithMenu):
    menu = store_a.menu
    store_id = store_a.store.id

    response = await client.delete(
        f"{store_a.base}/categories/{menu.category.id}", headers=store_a.headers
    )

    assert response.status_code == 204
    for path in [
        f"items/{menu.pizza.id}",
        f"items/{menu.soda.id}",
        f"option-groups/{menu.size.id}",
        f"options/{menu.large.id}",
    ]:
        gone = await client.get(f"{store_a.base}/{path}", headers=store_a.headers)
        assert gone.status_code == 404, path
    assert await _count(session, Category, store_id) == 0
    assert await _count(session, Item, store_id) == 0
    assert await _count(session, OptionGroup, store_id) == 0
    assert await _count(session, Option, store_id) == 0


async def test_item_delete_keeps_siblings(client, session, store_a: StoreWithMenu):
    menu = store_a.menu

    response = await client.delete(f"{store_a.base}/items/{menu.pizza.id}", headers=store_a.headers)

    assert response.status_code == 204
    assert await _count(session, Item, store_a.store.id) == 2
    assert await _count(session, OptionGroup, store_a.store.id) == 0
    assert await _count(session, Option, store_a.store.id) == 0
    soda = await client.get(f"{store_a.base}/items/{menu.soda.id}", headers=store_a.headers)
    assert soda.status_code == 200
