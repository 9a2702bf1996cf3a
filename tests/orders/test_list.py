"""Listing and reading orders: status filter, newest-first cursor pages, one order's detail."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, pickup_body
from zapora.orders.models import ActorType, Fulfilment, Order, OrderSource, PaymentMethod
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.orders.schemas import OrderPage, OrderSummary
from zapora.pagination import encode_cursor

STATUS_CYCLE = ["placed", "accepted", "cancelled", "preparing", "placed"]


async def _place_orders(session: AsyncSession, shop: Shop, count: int) -> list[Order]:
    """Place ``count`` orders; every three share a placed_at so the id must break ties."""
    draft = OrderDraft(
        lines=[LineRequest(item_id=shop.menu.soda.id, quantity=2)],
        fulfilment=Fulfilment.PICKUP,
        payment_method=PaymentMethod.CASH,
        source=OrderSource.STAFF,
    )
    start = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    orders = []
    for index in range(count):
        order = await place_order(
            session, shop.store, draft, actor_type=ActorType.STAFF, actor_id=shop.user.id
        )
        order.placed_at = start + timedelta(seconds=index // 3)
        order.status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
        orders.append(order)
    await session.commit()
    return orders


def _newest_first(orders: list[Order]) -> list[str]:
    ordered = sorted(orders, key=lambda order: (order.placed_at, order.id), reverse=True)
    return [str(order.id) for order in ordered]


async def _all_pages(
    client: httpx.AsyncClient, shop: Shop, **params: str | int | list[str]
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, str | int | list[str]] = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        response = await client.get(shop.orders_url, params=query, headers=shop.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10, "pagination does not end"


async def test_list_pages_through_all_orders(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    orders = await _place_orders(session, shop, 25)

    pages = await _all_pages(client, shop, limit=10)

    assert [len(page) for page in pages] == [10, 10, 5]
    listed = [order_id for page in pages for order_id in page]
    assert listed == _newest_first(orders)
    assert len(set(listed)) == 25


async def test_list_page_of_exact_size_ends(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await _place_orders(session, shop, 6)

    pages = await _all_pages(client, shop, limit=3)

    assert [len(page) for page in pages] == [3, 3]


async def test_list_defaults_to_twenty(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await _place_orders(session, shop, 25)

    response = await client.get(shop.orders_url, headers=shop.headers)

    assert response.status_code == 200
    assert len(response.json()["items"]) == 20
    assert response.json()["next_cursor"] is not None


async def test_list_item_fields(client: httpx.AsyncClient, shop: Shop) -> None:
    created = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    response = await client.get(shop.orders_url, headers=shop.headers)

    [item] = response.json()["items"]
    assert item["id"] == created.json()["id"]
    assert item["number"] == 1
    assert item["status"] == "placed"
    assert item["total"] == 3000
    assert item["currency"] == "BRL"
    assert item["fulfilment"] == "pickup"
    assert item["placed_at"] == created.json()["placed_at"]
    assert "lines" not in item
    assert response.json()["next_cursor"] is None


async def test_list_filters_by_status(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    orders = await _place_orders(session, shop, 25)
    matching = [order for order in orders if order.status in ("accepted", "cancelled")]

    repeated = await _all_pages(client, shop, status=["accepted", "cancelled"], limit=4)
    comma = await _all_pages(client, shop, status="accepted,cancelled", limit=4)
    mixed = await _all_pages(client, shop, status=["accepted, cancelled", "accepted"], limit=4)

    expected = _newest_first(matching)
    assert [order_id for page in repeated for order_id in page] == expected
    assert [order_id for page in comma for order_id in page] == expected
    assert [order_id for page in mixed for order_id in page] == expected


async def test_list_filter_returns_only_status(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await _place_orders(session, shop, 10)

    response = await client.get(
        shop.orders_url, params={"status": "preparing"}, headers=shop.headers
    )

    statuses = {item["status"] for item in response.json()["items"]}
    assert statuses == {"preparing"}
    assert len(response.json()["items"]) == 2


async def test_list_rejects_unknown_status(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get(
        shop.orders_url, params={"status": "placed,shipped"}, headers=shop.headers
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "status"
    assert "shipped" in problem["detail"]
    assert "out_for_delivery" in problem["errors"][0]["fix"]
    assert "picked_up" in problem["allowed"]


async def test_list_rejects_malformed_cursor(client: httpx.AsyncClient, shop: Shop) -> None:
    def encode(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

    cursors = [
        "not a cursor",
        "é",
        "abc",
        encode([1, 2]),
        encode({"at": "2026-03-01T12:00:00", "id": str(uuid.uuid4())}),
        encode({"at": "2026-03-01T12:00:00+00:00", "id": "x"}),
        encode({"at": 5, "id": str(uuid.uuid4())}),
        encode({"at": "9999-12-31T23:00:00-05:00", "id": str(uuid.uuid4())}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for cursor in cursors:
        response = await client.get(
            shop.orders_url, params={"cursor": cursor}, headers=shop.headers
        )
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_list_rejects_limit_out_of_range(client: httpx.AsyncClient, shop: Shop) -> None:
    limits: list[int | str] = [0, 101, "many"]
    for limit in limits:
        response = await client.get(shop.orders_url, params={"limit": limit}, headers=shop.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.limit"


async def test_get_order_with_events(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    created = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    url = shop.order_url(created.json()["id"])
    await client.post(f"{url}/transitions", json={"status": "accepted"}, headers=shop.headers)

    response = await client.get(url, headers=shop.headers)

    assert response.status_code == 200
    order = response.json()
    assert order["status"] == "accepted"
    assert order["allowed_next"] == ["preparing", "cancelled"]
    assert order["lines"][0]["name"] == "Margherita"
    assert [(event["from_status"], event["to_status"]) for event in order["events"]] == [
        (None, "placed"),
        ("placed", "accepted"),
    ]
    assert {event["actor_type"] for event in order["events"]} == {"staff"}
    stored = await session.scalar(select(Order).where(Order.id == uuid.UUID(order["id"])))
    assert stored is not None
    assert datetime.fromisoformat(order["placed_at"]) == stored.placed_at
    for event in order["events"]:
        assert event["created_at"].endswith("Z")


async def test_get_unknown_order(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get(shop.order_url(uuid.uuid4()), headers=shop.headers)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_list_body_matches_model(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    orders = await _place_orders(session, shop, 3)
    # One order has every optional field set, and another a placed_at without microseconds.
    zoned = orders[0]
    zoned.customer_name = "Ana"
    zoned.customer_phone = "5511999990000"
    zoned.delivery_zone_name = "Centro"
    zoned.estimate_minutes = 40
    zoned.estimated_delivery_at = zoned.placed_at + timedelta(minutes=40)
    zoned.fee_pending = True
    zoned.courier_id = shop.user.id
    orders[1].placed_at = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    await session.commit()
    newest = sorted(orders, key=lambda order: (order.placed_at, order.id), reverse=True)

    response = await client.get(shop.orders_url, params={"limit": 2}, headers=shop.headers)

    expected = OrderPage(
        items=[OrderSummary.model_validate(order) for order in newest[:2]],
        next_cursor=encode_cursor(newest[1].placed_at, newest[1].id),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == expected.model_dump_json().encode()
