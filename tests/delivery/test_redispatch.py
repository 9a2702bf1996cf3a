"""Retries and second rounds: photo proof after wrong codes, re-accepts, failed couriers."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import (
    FAR,
    NEAR,
    Courier,
    Dispatch,
    advance,
    assignment_messages,
    fresh_order,
    make_ready,
    offers_of,
    place_order,
    put_on_shift,
)
from tests.delivery.test_deliveries import DELIVERIES_URL, take_order, tiny_png
from zapora.delivery.deliveries import MAX_CODE_ATTEMPTS
from zapora.delivery.offers import expire_offers

OFFERS_URL = "/api/v1/courier/offers"


async def test_photo_with_code_after_lockout(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    assert order.handover_code is not None
    wrong = "0000" if order.handover_code != "0000" else "1111"
    url = f"{DELIVERIES_URL}/{order.id}/delivered"
    for _ in range(MAX_CODE_ATTEMPTS):
        response = await client.post(url, data={"handover_code": wrong}, headers=courier.headers)
        assert response.status_code == 422, response.text

    response = await client.post(
        url,
        data={"handover_code": order.handover_code},
        files={"photo": ("door.png", tiny_png(), "image/png")},
        headers=courier.headers,
    )

    assert response.status_code == 200, response.text
    delivered = await fresh_order(session, order.id)
    assert delivered.status == "delivered"
    assert delivered.proof_photo_key is not None


async def test_photo_with_wrong_code(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    wrong = "0000" if order.handover_code != "0000" else "1111"

    response = await client.post(
        f"{DELIVERIES_URL}/{order.id}/delivered",
        data={"handover_code": wrong},
        files={"photo": ("door.png", tiny_png(), "image/png")},
        headers=courier.headers,
    )

    assert response.status_code == 200, response.text
    assert (await fresh_order(session, order.id)).status == "delivered"


async def test_accept_twice_returns_assignment(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    await put_on_shift(session, courier, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    offer = (await offers_of(session, order.id))[-1]
    url = f"{OFFERS_URL}/{offer.id}/accept"

    first = await client.post(url, headers=courier.headers)
    second = await client.post(url, headers=courier.headers)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json()["order"]["id"] == str(order.id)
    assert second.json()["courier_assigned_at"] == first.json()["courier_assigned_at"]
    assert len(await assignment_messages(session, order.id)) == 1
    stored = await fresh_order(session, order.id)
    assert stored.courier_id == courier.id


async def test_accept_after_reassignment_conflicts(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier, other, _ = dispatch.couriers
    await put_on_shift(session, courier, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    offer = (await offers_of(session, order.id))[-1]
    url = f"{OFFERS_URL}/{offer.id}/accept"
    assert (await client.post(url, headers=courier.headers)).status_code == 200
    reassigned = await client.post(
        f"{dispatch.order_url(order.id)}/courier",
        json={"courier_id": str(other.id)},
        headers=dispatch.headers,
    )
    assert reassigned.status_code == 200, reassigned.text

    again = await client.post(url, headers=courier.headers)

    assert again.status_code == 409, again.text


async def fail_delivery(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> tuple[uuid.UUID, Courier]:
    """Let the first courier, at NEAR, take an order and fail it. Return its id and the courier."""
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    failed = await client.post(
        f"{DELIVERIES_URL}/{order.id}/failed",
        json={"reason": "nobody at the door"},
        headers=courier.headers,
    )
    assert failed.status_code == 200, failed.text
    return order.id, courier


async def test_failed_courier_skipped_next_round(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    order_id, courier = await fail_delivery(client, session, dispatch)
    other = dispatch.couriers[1]
    # The failed courier is nearer, so only the exclusion can pass them over.
    await put_on_shift(session, other, FAR)

    await advance(client, dispatch, order_id, "ready")

    offers = await offers_of(session, order_id)
    assert offers[-1].courier_id == other.id
    assert offers[-1].status == "offered"
    assert [offer.courier_id for offer in offers].count(courier.id) == 1


async def test_failed_courier_alone_waits_for_staff(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    order_id, courier = await fail_delivery(client, session, dispatch)

    await advance(client, dispatch, order_id, "ready")
    made = await expire_offers(app.state.session_factory)

    assert made == 0
    assert len(await offers_of(session, order_id)) == 1
    waiting = await fresh_order(session, order_id)
    assert waiting.status == "ready"
    assert waiting.courier_id is None
    assigned = await client.post(
        f"{dispatch.order_url(order_id)}/courier",
        json={"courier_id": str(courier.id)},
        headers=dispatch.headers,
    )
    assert assigned.status_code == 200, assigned.text
    assert (await fresh_order(session, order_id)).courier_id == courier.id


async def test_failed_order_offered_when_other_starts(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    order_id, _ = await fail_delivery(client, session, dispatch)
    await advance(client, dispatch, order_id, "ready")
    other = dispatch.couriers[2]

    await put_on_shift(session, other, FAR)
    made = await expire_offers(app.state.session_factory)

    assert made == 1
    offers = await offers_of(session, order_id)
    assert offers[-1].courier_id == other.id
