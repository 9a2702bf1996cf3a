"""Store isolation and permissions on the orders API."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_user
from tests.orders.builders import Shop, count_orders, pickup_body
from zapora.auth.models import Role


async def _create(client: httpx.AsyncClient, shop: Shop) -> str:
    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_other_store_is_not_found(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop, session: AsyncSession
) -> None:
    order_id = await _create(client, other_shop)
    intruder = shop.headers

    listed = await client.get(other_shop.orders_url, headers=intruder)
    read = await client.get(other_shop.order_url(order_id), headers=intruder)
    moved = await client.post(
        f"{other_shop.order_url(order_id)}/transitions",
        json={"status": "accepted"},
        headers=intruder,
    )
    created = await client.post(
        other_shop.orders_url, json=pickup_body(other_shop.menu), headers=intruder
    )

    for response in [listed, read, moved, created]:
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert await count_orders(session) == 1
    owner_view = await client.get(other_shop.order_url(order_id), headers=other_shop.headers)
    assert owner_view.json()["status"] == "placed"


async def test_order_under_own_store_path_is_not_found(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    order_id = await _create(client, other_shop)

    read = await client.get(shop.order_url(order_id), headers=shop.headers)
    moved = await client.post(
        f"{shop.order_url(order_id)}/transitions", json={"status": "accepted"}, headers=shop.headers
    )
    listed = await client.get(shop.orders_url, headers=shop.headers)

    assert read.status_code == 404
    assert moved.status_code == 404
    assert listed.json()["items"] == []


async def test_unknown_store_is_not_found(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get(f"/api/v1/stores/{uuid.uuid4()}/orders", headers=shop.headers)

    assert response.status_code == 404


async def test_platform_admin_reads_any_store(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    order_id = await _create(client, shop)
    admin = await make_user(session, None, role=Role.PLATFORM_ADMIN)
    await session.commit()
    headers = await login(client, admin)

    response = await client.get(shop.order_url(order_id), headers=headers)

    assert response.status_code == 200
    assert response.json()["id"] == order_id


async def test_courier_cannot_create_or_list_store_orders(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    courier = await make_user(session, shop.store, role=Role.COURIER)
    await session.commit()
    headers = await login(client, courier)

    created = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=headers)
    listed = await client.get(shop.orders_url, headers=headers)

    assert created.status_code == 403
    assert created.json()["code"] == "permission_denied"
    # Couriers see only the orders offered or assigned to them, through their own routes.
    assert listed.status_code == 403


async def test_anonymous_is_rejected(client: httpx.AsyncClient, shop: Shop) -> None:
    listed = await client.get(shop.orders_url)
    created = await client.post(shop.orders_url, json=pickup_body(shop.menu))

    assert listed.status_code == 401
    assert created.status_code == 401
