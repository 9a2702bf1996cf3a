"""The store's location: clearing it, and its race with activating a radius zone."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, make_shop
from tests.stores.test_zones_api import zones_url
from zapora.stores.models import DeliveryZone, Store

PAULISTA = {"latitude": -23.5614, "longitude": -46.6559}
CLEARED = {"latitude": None, "longitude": None}
ROUNDS = 8


def store_url(shop: Shop) -> str:
    return f"/api/v1/stores/{shop.store.id}"


async def patch(client: httpx.AsyncClient, url: str, shop: Shop, body: Any) -> httpx.Response:
    return await client.patch(url, json=body, headers=shop.headers)


async def test_half_clear_names_both(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client, **PAULISTA)

    only_latitude = await patch(client, store_url(shop), shop, {"latitude": None})
    only_longitude = await patch(client, store_url(shop), shop, {"longitude": None})

    assert only_latitude.status_code == 422, only_latitude.text
    error = only_latitude.json()["errors"][0]
    assert error["field"] == "longitude"
    assert "cleared together" in error["message"]
    assert "null for both" in error["fix"]
    assert only_longitude.json()["errors"][0]["field"] == "latitude"
    kept = (await client.get(store_url(shop), headers=shop.headers)).json()
    assert kept["latitude"] == PAULISTA["latitude"]


async def test_half_location_names_missing(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)

    response = await patch(client, store_url(shop), shop, {"longitude": -46.6})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "latitude"
    assert "latitude is missing" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("value", [math.nan, math.inf])
async def test_location_not_finite(
    session: AsyncSession, client: httpx.AsyncClient, value: float
) -> None:
    shop = await make_shop(session, client)
    # json.dumps writes NaN and Infinity, which httpx's json= refuses to send.
    body = json.dumps({"latitude": value, "longitude": -46.6})
    headers = {**shop.headers, "Content-Type": "application/json"}

    response = await client.patch(store_url(shop), content=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.latitude"
    assert "finite" in response.json()["errors"][0]["message"]


async def radius_zone(client: httpx.AsyncClient, shop: Shop) -> str:
    body = {
        "name": "Perto",
        "kind": "radius",
        "radius_meters": 2000,
        "fee": 700,
        "estimate_minutes": 30,
        "is_active": False,
    }
    response = await client.post(zones_url(shop), json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return f"{zones_url(shop)}/{response.json()['id']}"


async def stored_state(session: AsyncSession, shop: Shop) -> tuple[float | None, bool]:
    await session.commit()
    store = await session.scalar(
        select(Store).where(Store.id == shop.store.id).execution_options(populate_existing=True)
    )
    zone = await session.scalar(
        select(DeliveryZone)
        .where(DeliveryZone.store_id == shop.store.id)
        .execution_options(populate_existing=True)
    )
    await session.commit()
    assert store is not None
    assert zone is not None
    return store.latitude, zone.is_active


async def test_clear_location_races_radius_activation(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client, **PAULISTA)
    zone_url = await radius_zone(client, shop)

    for attempt in range(ROUNDS):
        restored = await patch(client, store_url(shop), shop, PAULISTA)
        assert restored.status_code == 200, restored.text
        paused = await patch(client, zone_url, shop, {"is_active": False})
        assert paused.status_code == 200, paused.text

        activated, cleared = await asyncio.gather(
            patch(client, zone_url, shop, {"is_active": True}),
            patch(client, store_url(shop), shop, CLEARED),
        )

        statuses = sorted([activated.status_code, cleared.status_code])
        assert statuses == [200, 409], (attempt, activated.text, cleared.text)
        latitude, active = await stored_state(session, shop)
        if latitude is None:
            assert not active, attempt
        assert active == (activated.status_code == 200), attempt
