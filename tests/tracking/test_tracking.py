"""The public tracking route: the order's progress, without the customer's data."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_user
from tests.orders.builders import Shop, delivery_body, make_shop
from tests.reports.history import utc
from zapora.auth.models import Role
from zapora.delivery.models import CourierState
from zapora.orders.models import Order, OrderEvent
from zapora.ratelimit.limiter import RouteClass
from zapora.ratelimit.middleware import classify

TRACKING_FIELDS = {
    "order_number",
    "store_name",
    "status",
    "fulfilment",
    "time_zone",
    "total",
    "currency",
    "timeline",
    "estimated_at",
    "estimated_local_at",
    "courier_first_name",
    "courier_position",
}


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    return await make_shop(session, client, name="Pizzaria Bella", time_zone="America/Sao_Paulo")


async def _place(client: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
    response = await client.post(
        shop.orders_url, json=delivery_body(shop.menu), headers=shop.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _move(client: httpx.AsyncClient, shop: Shop, order_id: str, **change: str) -> None:
    response = await client.post(
        f"{shop.order_url(order_id)}/transitions", json=change, headers=shop.headers
    )
    assert response.status_code == 200, response.text


async def _token(session: AsyncSession, order_id: str) -> str:
    token = await session.scalar(
        select(Order.tracking_token).where(Order.id == uuid.UUID(order_id))
    )
    await session.commit()
    assert token is not None
    return token


async def test_tracking_shows_timeline(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await _move(client, shop, order["id"], status="accepted")
    await _move(client, shop, order["id"], status="preparing")
    token = await _token(session, order["id"])

    response = await client.get(f"/track/{token}")

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == TRACKING_FIELDS
    assert body["order_number"] == order["number"]
    assert body["store_name"] == "Pizzaria Bella"
    assert body["status"] == "preparing"
    assert body["fulfilment"] == "delivery"
    assert body["time_zone"] == "America/Sao_Paulo"
    assert body["total"] == 10900
    assert body["currency"] == "BRL"
    assert [step["status"] for step in body["timeline"]] == ["placed", "accepted", "preparing"]
    for step in body["timeline"]:
        assert set(step) == {"status", "at", "local_at"}
    assert body["estimated_at"] is None
    assert body["courier_first_name"] is None
    assert body["courier_position"] is None


async def test_timeline_times_in_store_zone(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await session.execute(
        update(OrderEvent)
        .where(OrderEvent.order_id == uuid.UUID(order["id"]))
        .values(created_at=utc("2026-03-10T02:30:00"))
    )
    token = await _token(session, order["id"])

    body = (await client.get(f"/track/{token}")).json()

    step = body["timeline"][0]
    assert step["at"] == "2026-03-10T02:30:00Z"
    assert step["local_at"] == "2026-03-09T23:30:00-03:00"


async def test_tracking_omits_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await _move(client, shop, order["id"], status="cancelled", reason="Ana asked by phone")
    token = await _token(session, order["id"])

    response = await client.get(f"/track/{token}")

    assert response.status_code == 200, response.text
    text = response.text
    body = delivery_body(shop.menu)
    for secret in [
        body["customer_name"],
        body["customer_phone"],
        body["address_text"],
        body["notes"],
        "well done",
        "asked by phone",
        str(shop.user.id),
        order["id"],
        "15000",
        "cash",
    ]:
        assert secret not in text, secret
    assert [step["status"] for step in response.json()["timeline"]] == ["placed", "cancelled"]


async def test_tracking_omits_coordinates(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    pinned = delivery_body(shop.menu, address_text=None, latitude=-23.561684, longitude=-46.6558)
    response = await client.post(shop.orders_url, json=pinned, headers=shop.headers)
    assert response.status_code == 201, response.text
    token = await _token(session, response.json()["id"])

    text = (await client.get(f"/track/{token}")).text

    assert "-23.56" not in text
    assert "-46.65" not in text


async def test_unknown_or_malformed_token_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    token = await _token(session, order["id"])
    details = set()

    for candidate in [
        "a" * 32,
        token[:16],
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
        "not.a.token",
        "x" * 65,
        "%20",
    ]:
        response = await client.get(f"/track/{candidate}")

        assert response.status_code == 404, (candidate, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"
        details.add(response.json()["detail"])

    assert details == {"No order has this tracking link."}


async def test_order_without_token_is_not_trackable(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    token = await _token(session, order["id"])
    await session.execute(
        update(Order).where(Order.id == uuid.UUID(order["id"])).values(tracking_token=None)
    )
    await session.commit()

    response = await client.get(f"/track/{token}")

    assert response.status_code == 404, response.text


async def test_tracking_needs_no_login(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    token = await _token(session, order["id"])

    response = await client.get(f"/track/{token}", headers={"Authorization": "Bearer nonsense"})

    assert response.status_code == 200, response.text


def test_tracking_uses_default_rate_limit() -> None:
    assert classify("/track/abc") is RouteClass.DEFAULT


async def test_estimate_in_utc_and_store_time(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order["id"]))
        .values(estimated_delivery_at=utc("2026-03-10T01:15:00"))
    )
    token = await _token(session, order["id"])

    body = (await client.get(f"/track/{token}")).json()

    assert body["estimated_at"] == "2026-03-10T01:15:00Z"
    assert body["estimated_local_at"] == "2026-03-09T22:15:00-03:00"


async def test_estimate_from_zone_minutes(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order["id"]))
        .values(
            placed_at=utc("2026-03-10T00:00:00"), estimate_minutes=45, estimated_delivery_at=None
        )
    )
    token = await _token(session, order["id"])

    body = (await client.get(f"/track/{token}")).json()

    assert body["estimated_at"] == "2026-03-10T00:45:00Z"
    assert body["estimated_local_at"] == "2026-03-09T21:45:00-03:00"


async def _with_courier(session: AsyncSession, shop: Shop, order_id: str, status: str) -> None:
    courier = await make_user(session, shop.store, Role.COURIER, full_name="Bruno Costa Lima")
    session.add(
        CourierState(
            user_id=courier.id,
            store_id=shop.store.id,
            on_shift=True,
            latitude=-23.5489,
            longitude=-46.6388,
            position_at=utc("2026-03-10T01:02:03"),
        )
    )
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order_id))
        .values(courier_id=courier.id, status=status, handover_code="4821")
    )


async def test_courier_shown_while_out_for_delivery(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    order = await _place(client, shop)
    await _with_courier(session, shop, order["id"], "out_for_delivery")
    token = await _token(session, order["id"])

    response = await client.get(f"/track/{token}")

    body = response.json()
    assert body["courier_first_name"] == "Bruno"
    assert body["courier_position"] == {
        "latitude": -23.5489,
        "longitude": -46.6388,
        "at": "2026-03-10T01:02:03Z",
    }
    for secret in ["Costa", "Lima", "4821", "@example.com"]:
        assert secret not in response.text, secret


@pytest.mark.parametrize("status", ["ready", "delivered", "delivery_failed"])
async def test_courier_hidden_unless_out_for_delivery(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, status: str
) -> None:
    order = await _place(client, shop)
    await _with_courier(session, shop, order["id"], status)
    token = await _token(session, order["id"])

    body = (await client.get(f"/track/{token}")).json()

    assert body["courier_first_name"] is None
    assert body["courier_position"] is None
    assert "-23.54" not in str(body)
