"""Invalid catalog requests are 422 problem documents that name the field."""

from __future__ import annotations

import uuid

import pytest

from tests.catalog.conftest import StoreWithMenu


def _first_error(response) -> dict:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["errors"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 121}, "body.name"),
        ({"name": "Bad\x00name"}, "body.name"),
        ({"name": "Drinks", "position": -1}, "body.position"),
        ({"name": "Drinks", "position": "first"}, "body.position"),
        ({"name": "Drinks", "store_id": str(uuid.uuid4())}, "body.store_id"),
    ],
)
async def test_category_create_rejects(client, store_a: StoreWithMenu, body, field):
    response = await client.post(f"{store_a.base}/categories", json=body, headers=store_a.headers)

    error = _first_error(response)
    assert error["field"] == field
    assert error["fix"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": -1}, "body.price"),
        ({"price": 2**40}, "body.price"),
        ({"price": 10.5}, "body.price"),
        ({"name": None}, "body.name"),
        ({"is_available": None}, "body.is_available"),
        ({"description": "a\x00b"}, "body.description"),
        ({"currency": "USD"}, "body.currency"),
    ],
)
async def test_item_update_rejects(client, store_a: StoreWithMenu, body, field):
    response = await client.patch(
        f"{store_a.base}/items/{store_a.menu.pizza.id}", json=body, headers=store_a.headers
    )

    assert _first_error(response)["field"] == field
    unchanged = await client.get(
        f"{store_a.base}/items/{store_a.menu.pizza.id}", headers=store_a.headers
    )
    assert unchanged.json()["price"] == 3000
    assert unchanged.json()["name"] == "Margherita"


async def test_item_create_needs_category_and_price(client, store_a: StoreWithMenu):
    response = await client.post(
        f"{store_a.base}/items", json={"name": "Lasagna"}, headers=store_a.headers
    )

    fields = {error["field"] for error in response.json()["errors"]}
    assert response.status_code == 422
    assert fields == {"body.category_id", "body.price"}


async def test_item_create_rejects_unknown_category(client, store_a: StoreWithMenu):
    response = await client.post(
        f"{store_a.base}/items",
        json={"category_id": str(uuid.uuid4()), "name": "Lasagna", "price": 100},
        headers=store_a.headers,
    )

    error = _first_error(response)
    assert error["field"] == "category_id"
    assert "this store's categories" in error["fix"]


async def test_parent_ids_from_another_store_rejected(
    client, store_a: StoreWithMenu, store_b: StoreWithMenu
):
    base, headers, foreign = store_a.base, store_a.headers, store_b.menu
    cases = [
        ("POST", "items", {"category_id": str(foreign.category.id), "name": "X", "price": 1}),
        ("PATCH", f"items/{store_a.menu.soda.id}", {"category_id": str(foreign.category.id)}),
        ("POST", "option-groups", {"item_id": str(foreign.pizza.id), "name": "X"}),
        ("PATCH", f"option-groups/{store_a.menu.size.id}", {"item_id": str(foreign.pizza.id)}),
        ("POST", "options", {"group_id": str(foreign.size.id), "name": "X"}),
        ("PATCH", f"options/{store_a.menu.small.id}", {"group_id": str(foreign.size.id)}),
    ]
    for method, path, body in cases:
        response = await client.request(method, f"{base}/{path}", json=body, headers=headers)

        error = _first_error(response)
        expected_field = next(key for key in body if key.endswith("_id"))
        assert error["field"] == expected_field, (method, path)


async def test_option_group_min_above_max_on_create(client, store_a: StoreWithMenu):
    response = await client.post(
        f"{store_a.base}/option-groups",
        json={"item_id": str(store_a.menu.soda.id), "name": "Ice", "min_choices": 2},
        headers=store_a.headers,
    )

    error = _first_error(response)
    assert error["field"] == "min_choices"
    assert "max_choices" in error["fix"]


async def test_option_group_max_below_min_on_update(client, store_a: StoreWithMenu):
    group_path = f"{store_a.base}/option-groups/{store_a.menu.size.id}"
    widened = await client.patch(
        group_path, json={"min_choices": 2, "max_choices": 3}, headers=store_a.headers
    )
    assert widened.status_code == 200, widened.text

    response = await client.patch(group_path, json={"max_choices": 1}, headers=store_a.headers)
    assert _first_error(response)["field"] == "max_choices"

    response = await client.patch(group_path, json={"max_choices": 0}, headers=store_a.headers)
    assert _first_error(response)["field"] == "body.max_choices"

    response = await client.patch(
        f"{store_a.base}/option-groups/{store_a.menu.extras.id}",
        json={"max_choices": 1, "min_choices": 2},
        headers=store_a.headers,
    )
    assert _first_error(response)["field"] == "min_choices"

    response = await client.patch(group_path, json={"min_choices": 4}, headers=store_a.headers)
    assert _first_error(response)["field"] == "min_choices"


async def test_option_rejects_negative_price(client, store_a: StoreWithMenu):
    response = await client.post(
        f"{store_a.base}/options",
        json={"group_id": str(store_a.menu.extras.id), "name": "Olives", "price": -50},
        headers=store_a.headers,
    )

    assert _first_error(response)["field"] == "body.price"


async def test_malformed_ids_are_422(client, store_a: StoreWithMenu):
    for path in [
        "/api/v1/stores/not-a-uuid/categories",
        f"{store_a.base}/items/not-a-uuid",
        f"{store_a.base}/options/123",
    ]:
        response = await client.get(path, headers=store_a.headers)

        assert response.status_code == 422, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"].startswith("path.")


async def test_lone_surrogate_is_422(client, store_a: StoreWithMenu):
    response = await client.post(
        f"{store_a.base}/categories",
        content=b'{"name": "\\ud800"}',
        headers={**store_a.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
