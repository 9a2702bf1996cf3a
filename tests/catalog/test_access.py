"""Store isolation and role permissions on the catalog routes."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import StoreWithMenu
from tests.factories import login, make_user
from zapora.auth.models import Role


def _object_paths(owner: StoreWithMenu) -> list[str]:
    menu = owner.menu
    return [
        f"categories/{menu.category.id}",
        f"items/{menu.pizza.id}",
        f"option-groups/{menu.size.id}",
        f"options/{menu.large.id}",
    ]


async def test_other_store_routes_are_404(client, store_a: StoreWithMenu, store_b: StoreWithMenu):
    requests = [("GET", ""), ("PATCH", "")]
    requests += [
        ("GET", f"/{kind}") for kind in ["categories", "items", "option-groups", "options"]
    ]
    requests += [("POST", "/categories")]
    for path in _object_paths(store_b):
        requests += [("GET", f"/{path}"), ("PATCH", f"/{path}"), ("DELETE", f"/{path}")]

    for method, path in requests:
        body = {"name": "Taken over"} if method in ("POST", "PATCH") else None
        response = await client.request(
            method, f"{store_b.base}{path}", json=body, headers=store_a.headers
        )

        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"

    unchanged = await client.get(
        f"{store_b.base}/items/{store_b.menu.pizza.id}", headers=store_b.headers
    )
    assert unchanged.json()["name"] == "Margherita"


async def test_other_store_objects_through_own_store_are_404(
    client, store_a: StoreWithMenu, store_b: StoreWithMenu
):
    for path in _object_paths(store_b):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"name": "Taken over"} if method == "PATCH" else None
            response = await client.request(
                method, f"{store_a.base}/{path}", json=body, headers=store_a.headers
            )

            assert response.status_code == 404, (method, path, response.text)

    for path in _object_paths(store_b):
        still_there = await client.get(f"{store_b.base}/{path}", headers=store_b.headers)
        assert still_there.status_code == 200, path
        assert still_there.json()["name"] != "Taken over"


async def test_lists_hold_only_own_store(client, store_a: StoreWithMenu, store_b: StoreWithMenu):
    foreign_filter = {"category_id": str(store_b.menu.category.id)}

    own = await client.get(f"{store_a.base}/items", headers=store_a.headers)
    filtered = await client.get(
        f"{store_a.base}/items", params=foreign_filter, headers=store_a.headers
    )

    own_ids = {item["id"] for item in own.json()}
    assert own_ids == {
        str(store_a.menu.pizza.id),
        str(store_a.menu.soda.id),
        str(store_a.menu.sold_out.id),
    }
    assert filtered.status_code == 200
    assert filtered.json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "categories", {"name": "Drinks"}),
        ("PATCH", "items/{pizza}", {"price": 1}),
        ("DELETE", "options/{large}", None),
        ("GET", "categories", None),
    ],
)
async def test_courier_cannot_use_catalog(
    client, session, store_a: StoreWithMenu, method, path, body
):
    courier = await make_user(session, store_a.store, Role.COURIER)
    await session.commit()
    headers = await login(client, courier)
    path = path.format(pizza=store_a.menu.pizza.id, large=store_a.menu.large.id)

    response = await client.request(method, f"{store_a.base}/{path}", json=body, headers=headers)

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "permission_denied"


async def test_staff_can_write_catalog(client, session, store_a: StoreWithMenu):
    staff = await make_user(session, store_a.store, Role.STORE_STAFF)
    await session.commit()
    headers = await login(client, staff)

    response = await client.patch(
        f"{store_a.base}/items/{store_a.menu.soda.id}",
        json={"is_available": False},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["is_available"] is False


async def test_platform_admin_reaches_any_store(client, session, store_b: StoreWithMenu):
    admin = await make_user(session, None, Role.PLATFORM_ADMIN)
    await session.commit()
    headers = await login(client, admin)

    response = await client.get(f"{store_b.base}/categories", headers=headers)

    assert response.status_code == 200
    assert [category["name"] for category in response.json()] == ["Pizzas"]


async def test_catalog_needs_login(client, store_a: StoreWithMenu):
    response = await client.get(f"{store_a.base}/categories")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
