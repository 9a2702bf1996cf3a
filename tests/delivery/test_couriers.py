"""Couriers' shifts and positions, and the staff's courier list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import NEAR, Dispatch, advance, place_order, put_on_shift
from tests.factories import login, make_user
from zapora.auth.models import Role
from zapora.db import utcnow

SHIFT_URL = "/api/v1/courier/shift"
POSITION_URL = "/api/v1/courier/position"


def _position(latitude: float, longitude: float, at: datetime) -> dict[str, object]:
    return {"latitude": latitude, "longitude": longitude, "recorded_at": at.isoformat()}


async def test_shift_start_and_stop(client: httpx.AsyncClient, dispatch: Dispatch) -> None:
    courier = dispatch.couriers[0]

    before = await client.get(SHIFT_URL, headers=courier.headers)
    started = await client.post(SHIFT_URL, json={"on_shift": True}, headers=courier.headers)
    again = await client.post(SHIFT_URL, json={"on_shift": True}, headers=courier.headers)
    stopped = await client.post(SHIFT_URL, json={"on_shift": False}, headers=courier.headers)

    assert before.status_code == 200
    assert before.json()["on_shift"] is False
    assert started.status_code == 200
    assert started.json()["on_shift"] is True
    assert started.json()["shift_started_at"] is not None
    assert again.json()["shift_started_at"] == started.json()["shift_started_at"]
    assert stopped.json()["on_shift"] is False
    assert stopped.json()["shift_started_at"] is None


async def test_newer_position_replaces_older(client: httpx.AsyncClient, dispatch: Dispatch) -> None:
    courier = dispatch.couriers[0]
    now = utcnow().replace(microsecond=0)

    first = await client.post(
        POSITION_URL, json=_position(-23.55, -46.65, now), headers=courier.headers
    )
    newer = await client.post(
        POSITION_URL,
        json=_position(-23.56, -46.66, now + timedelta(seconds=5)),
        headers=courier.headers,
    )

    assert first.status_code == 200, first.text
    assert first.json()["position_applied"] is True
    assert newer.json()["position_applied"] is True
    assert newer.json()["latitude"] == -23.56
    assert newer.json()["longitude"] == -46.66


async def test_older_position_ignored(client: httpx.AsyncClient, dispatch: Dispatch) -> None:
    courier = dispatch.couriers[0]
    now = utcnow().replace(microsecond=0)
    await client.post(POSITION_URL, json=_position(-23.55, -46.65, now), headers=courier.headers)

    late = await client.post(
        POSITION_URL,
        json=_position(-23.70, -46.80, now - timedelta(seconds=30)),
        headers=courier.headers,
    )
    same_time = await client.post(
        POSITION_URL, json=_position(-23.71, -46.81, now), headers=courier.headers
    )

    assert late.status_code == 200
    assert late.json()["position_applied"] is False
    assert late.json()["latitude"] == -23.55
    assert same_time.json()["position_applied"] is False
    stored = await client.get(SHIFT_URL, headers=courier.headers)
    assert stored.json()["latitude"] == -23.55
    assert datetime.fromisoformat(stored.json()["position_at"]) == now


async def test_future_position_rejected(client: httpx.AsyncClient, dispatch: Dispatch) -> None:
    courier = dispatch.couriers[0]

    response = await client.post(
        POSITION_URL,
        json=_position(-23.55, -46.65, utcnow() + timedelta(hours=1)),
        headers=courier.headers,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "recorded_at"
    state = await client.get(SHIFT_URL, headers=courier.headers)
    assert state.json()["position_at"] is None


async def test_position_needs_offset_and_range(
    client: httpx.AsyncClient, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    naive = {"latitude": -23.5, "longitude": -46.6, "recorded_at": "2026-01-01T10:00:00"}
    outside = _position(95.0, -46.6, datetime.now(UTC))

    naive_response = await client.post(POSITION_URL, json=naive, headers=courier.headers)
    outside_response = await client.post(POSITION_URL, json=outside, headers=courier.headers)

    assert naive_response.status_code == 422
    assert naive_response.json()["errors"][0]["field"] == "body.recorded_at"
    assert outside_response.status_code == 422
    assert outside_response.json()["errors"][0]["field"] == "body.latitude"


async def test_staff_list_shows_shift_position_load(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    busy, idle, off = dispatch.couriers
    await put_on_shift(session, busy, NEAR)
    await put_on_shift(session, idle, None)
    order = await place_order(session, dispatch)
    await advance(client, dispatch, order.id, "accepted", "preparing")
    assigned = await client.post(
        f"{dispatch.order_url(order.id)}/courier",
        json={"courier_id": str(busy.id)},
        headers=dispatch.headers,
    )
    assert assigned.status_code == 200

    response = await client.get(f"{dispatch.store_url}/couriers", headers=dispatch.headers)

    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert set(items) == {str(busy.id), str(idle.id), str(off.id)}
    assert items[str(busy.id)]["on_shift"] is True
    assert items[str(busy.id)]["load"] == 1
    assert items[str(busy.id)]["latitude"] == NEAR[0]
    assert 0 <= items[str(busy.id)]["position_age_seconds"] < 60
    assert items[str(idle.id)]["load"] == 0
    assert items[str(idle.id)]["position_age_seconds"] is None
    assert items[str(off.id)]["on_shift"] is False
    assert items[str(busy.id)]["full_name"] == "Ana Souza"


async def test_load_drops_when_order_finished(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await place_order(session, dispatch)
    await advance(client, dispatch, order.id, "accepted", "preparing")
    await client.post(
        f"{dispatch.order_url(order.id)}/courier",
        json={"courier_id": str(courier.id)},
        headers=dispatch.headers,
    )
    await client.post(
        f"{dispatch.order_url(order.id)}/transitions",
        json={"status": "cancelled", "reason": "kitchen closed"},
        headers=dispatch.headers,
    )

    response = await client.get(f"{dispatch.store_url}/couriers", headers=dispatch.headers)

    loads = {item["id"]: item["load"] for item in response.json()["items"]}
    assert loads[str(courier.id)] == 0


async def test_courier_list_tenancy(
    client: httpx.AsyncClient, dispatch: Dispatch, other_dispatch: Dispatch
) -> None:
    url = f"{dispatch.store_url}/couriers"

    other_staff = await client.get(url, headers=other_dispatch.headers)
    courier = await client.get(url, headers=dispatch.couriers[0].headers)
    own = await client.get(f"{other_dispatch.store_url}/couriers", headers=other_dispatch.headers)

    assert other_staff.status_code == 404
    assert courier.status_code == 403
    own_ids = {item["id"] for item in own.json()["items"]}
    assert own_ids == {str(c.id) for c in other_dispatch.couriers}


async def test_admin_has_no_courier_profile(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    admin = await make_user(session, None, Role.PLATFORM_ADMIN)
    await session.commit()
    headers = await login(client, admin)

    response = await client.post(SHIFT_URL, json={"on_shift": True}, headers=headers)

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "user"


async def test_concurrent_positions_keep_newest(
    client: httpx.AsyncClient, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    start = utcnow().replace(microsecond=0)
    # Sent at once in an order that puts the newest report in the middle.
    offsets = [3, 1, 7, 0, 5, 2, 6, 4]
    reports = [
        _position(-23.5 - offset / 1000, -46.6, start + timedelta(seconds=offset))
        for offset in offsets
    ]

    responses = await asyncio.gather(
        *(client.post(POSITION_URL, json=report, headers=courier.headers) for report in reports)
    )

    assert [response.status_code for response in responses] == [200] * len(reports)
    stored = (await client.get(SHIFT_URL, headers=courier.headers)).json()
    assert datetime.fromisoformat(stored["position_at"]) == start + timedelta(seconds=7)
    assert stored["latitude"] == -23.507
