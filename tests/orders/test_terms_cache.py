"""Repeat orders reuse the store's hours and zone flag, and see staff changes at once."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import (
    Shop,
    delivery_body,
    make_customer,
    pickup_body,
    place_customer_order,
)
from tests.orders.test_placement_writes import statements_of
from tests.stores.hours_helpers import range_from_now
from tests.stores.test_zones_api import create_zone
from zapora.db import create_session_factory
from zapora.stores.models import Store

HOURS_SQL = "store_opening_hours"
ZONES_SQL = "FROM delivery_zones"


async def _place(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> httpx.Response:
    return await client.post(shop.orders_url, json=body, headers=shop.headers)


def _reads(statements: list[str], fragment: str) -> list[str]:
    return [statement for statement in statements if fragment in statement]


async def test_repeat_order_skips_terms_reads(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    with statements_of(app) as first:
        placed = await _place(client, shop, delivery_body(shop.menu))
    with statements_of(app) as second:
        again = await _place(client, shop, delivery_body(shop.menu))

    assert placed.status_code == 201, placed.text
    assert again.status_code == 201, again.text
    assert len(_reads(first, HOURS_SQL)) == 1
    assert len(_reads(first, ZONES_SQL)) == 1
    assert _reads(second, HOURS_SQL) == []
    assert _reads(second, ZONES_SQL) == []
    assert len(second) == len(first) - 2


async def test_new_hours_close_store(client: httpx.AsyncClient, shop: Shop) -> None:
    assert (await _place(client, shop, pickup_body(shop.menu))).status_code == 201
    later, _, _ = range_from_now(shop.store.time_zone, 120, 60)
    hours_url = f"/api/v1/stores/{shop.store.id}/hours"
    replaced = await client.put(hours_url, json=[later], headers=shop.headers)
    assert replaced.status_code == 200, replaced.text

    closed = await _place(client, shop, pickup_body(shop.menu))

    assert closed.status_code == 409, closed.text
    assert closed.json()["code"] == "store_closed"


async def test_closure_closes_then_reopens(client: httpx.AsyncClient, shop: Shop) -> None:
    current, start, _ = range_from_now(shop.store.time_zone, -60, 180)
    base = f"/api/v1/stores/{shop.store.id}"
    assert (await client.put(f"{base}/hours", json=[current], headers=shop.headers)).is_success
    assert (await _place(client, shop, pickup_body(shop.menu))).status_code == 201
    # A closure stops the ranges that start on its day, so it is the day the range opened.
    day = start.astimezone(ZoneInfo(shop.store.time_zone)).date()

    closure = await client.post(
        f"{base}/closures", json={"day": day.isoformat()}, headers=shop.headers
    )
    assert closure.status_code == 201, closure.text
    closed = await _place(client, shop, pickup_body(shop.menu))
    deleted = await client.delete(f"{base}/closures/{closure.json()['id']}", headers=shop.headers)
    assert deleted.status_code == 204, deleted.text
    reopened = await _place(client, shop, pickup_body(shop.menu))

    assert closed.status_code == 409, closed.text
    assert closed.json()["code"] == "store_closed"
    assert reopened.status_code == 201, reopened.text


async def test_zone_changes_reach_next_order(client: httpx.AsyncClient, shop: Shop) -> None:
    # A typed address pays the flat fee without active zones, and a fee to confirm with them.
    orders = [await _place(client, shop, delivery_body(shop.menu))]
    zone = await create_zone(client, shop)
    orders.append(await _place(client, shop, delivery_body(shop.menu)))
    zone_url = f"/api/v1/stores/{shop.store.id}/zones/{zone['id']}"
    for active in (False, True):
        changed = await client.patch(zone_url, json={"is_active": active}, headers=shop.headers)
        assert changed.status_code == 200, changed.text
        orders.append(await _place(client, shop, delivery_body(shop.menu)))
    assert (await client.delete(zone_url, headers=shop.headers)).status_code == 204
    orders.append(await _place(client, shop, delivery_body(shop.menu)))

    for response in orders:
        assert response.status_code == 201, response.text
    pending = [response.json()["fee_pending"] for response in orders]
    assert pending == [False, True, False, True, False]


async def test_plain_session_reads_every_order(
    app: FastAPI, session: AsyncSession, shop: Shop
) -> None:
    customer = await make_customer(session, shop.store)
    await session.commit()

    async with create_session_factory(app.state.engine)() as plain:
        store = await plain.get(Store, shop.store.id)
        assert store is not None
        with statements_of(app) as statements:
            for _ in range(2):
                await place_customer_order(plain, store, shop.menu, customer)
        await plain.commit()

    assert len(_reads(statements, HOURS_SQL)) == 2
    assert len(_reads(statements, ZONES_SQL)) == 2
