"""Automatic dispatch: offers to the nearest courier, declines, timeouts and waiting orders."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import (
    FAR,
    NEAR,
    Dispatch,
    advance,
    expire_offer,
    fresh_order,
    make_ready,
    offers_of,
    place_order,
    put_on_shift,
)
from zapora.db import utcnow
from zapora.delivery.models import DeliveryOffer, OfferStatus
from zapora.delivery.offers import expire_offers
from zapora.orders.models import Fulfilment
from zapora.outbox.transports import LogTransport
from zapora.worker import Worker

OFFERS_URL = "/api/v1/courier/offers"


async def test_ready_order_offered_to_nearest(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    far, near, nowhere = dispatch.couriers
    await put_on_shift(session, far, FAR)
    await put_on_shift(session, near, NEAR)
    await put_on_shift(session, nowhere, None)
    order = await place_order(session, dispatch)

    await make_ready(client, dispatch, order.id)

    offers = await offers_of(session, order.id)
    assert [offer.courier_id for offer in offers] == [near.id]
    assert offers[0].status == OfferStatus.OFFERED.value
    seconds = (offers[0].expires_at - offers[0].offered_at).total_seconds()
    assert seconds == dispatch.store.courier_offer_seconds
    listed = await client.get(OFFERS_URL, headers=near.headers)
    assert listed.status_code == 200
    assert [item["order"]["id"] for item in listed.json()["items"]] == [str(order.id)]
    assert (await client.get(OFFERS_URL, headers=far.headers)).json()["items"] == []


async def test_preparing_order_not_offered(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    await put_on_shift(session, dispatch.couriers[0], NEAR)
    order = await place_order(session, dispatch)

    await advance(client, dispatch, order.id, "accepted", "preparing")

    assert await offers_of(session, order.id) == []


async def test_pickup_order_not_offered(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    await put_on_shift(session, dispatch.couriers[0], NEAR)
    order = await place_order(session, dispatch, Fulfilment.PICKUP)

    await make_ready(client, dispatch, order.id)

    assert await offers_of(session, order.id) == []


async def test_tie_goes_to_lowest_load(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    busy, idle, _ = dispatch.couriers
    await put_on_shift(session, busy, NEAR)
    await put_on_shift(session, idle, NEAR)
    first = await place_order(session, dispatch)
    await advance(client, dispatch, first.id, "accepted", "preparing")
    assigned = await client.post(
        f"{dispatch.order_url(first.id)}/courier",
        json={"courier_id": str(busy.id)},
        headers=dispatch.headers,
    )
    assert assigned.status_code == 200, assigned.text
    second = await place_order(session, dispatch)

    await make_ready(client, dispatch, second.id)

    offers = await offers_of(session, second.id)
    assert [offer.courier_id for offer in offers] == [idle.id]


async def test_decline_offers_next_until_none_left(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    far, near, nowhere = dispatch.couriers
    await put_on_shift(session, far, FAR)
    await put_on_shift(session, near, NEAR)
    await put_on_shift(session, nowhere, None)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)

    for courier in (near, far, nowhere):
        offers = await offers_of(session, order.id)
        response = await client.post(
            f"{OFFERS_URL}/{offers[-1].id}/decline", headers=courier.headers
        )
        assert response.status_code == 204, response.text

    offers = await offers_of(session, order.id)
    assert [offer.courier_id for offer in offers] == [near.id, far.id, nowhere.id]
    assert {offer.status for offer in offers} == {OfferStatus.DECLINED.value}
    waiting = await fresh_order(session, order.id)
    assert waiting.courier_id is None
    assert waiting.status == "ready"


async def test_decline_twice_conflicts(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    near = dispatch.couriers[1]
    await put_on_shift(session, near, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    (offer,) = await offers_of(session, order.id)
    url = f"{OFFERS_URL}/{offer.id}/decline"

    first = await client.post(url, headers=near.headers)
    second = await client.post(url, headers=near.headers)

    assert first.status_code == 204
    assert second.status_code == 409
    assert second.json()["offer_status"] == "declined"


async def test_timeout_reoffered_by_worker(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    far, near, _ = dispatch.couriers
    await put_on_shift(session, far, FAR)
    await put_on_shift(session, near, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    (first,) = await offers_of(session, order.id)
    await expire_offer(session, first.id, utcnow() - timedelta(seconds=1))
    worker = Worker(app.state.settings, app.state.session_factory, transport=LogTransport())

    await worker.run_once()

    offers = await offers_of(session, order.id)
    assert [offer.courier_id for offer in offers] == [near.id, far.id]
    assert [offer.status for offer in offers] == ["expired", "offered"]
    late = await client.post(f"{OFFERS_URL}/{first.id}/accept", headers=near.headers)
    assert late.status_code == 409


async def test_open_offer_not_expired_early(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    near = dispatch.couriers[1]
    await put_on_shift(session, near, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)

    made = await expire_offers(app.state.session_factory)

    assert made == 0
    offers = await offers_of(session, order.id)
    assert [offer.status for offer in offers] == ["offered"]


async def test_waiting_order_offered_when_shift_starts(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    assert await offers_of(session, order.id) == []
    assert await expire_offers(app.state.session_factory) == 0

    started = await client.post(
        "/api/v1/courier/shift", json={"on_shift": True}, headers=courier.headers
    )
    made = await expire_offers(app.state.session_factory)

    assert started.status_code == 200
    assert made == 1
    offers = await offers_of(session, order.id)
    assert [offer.courier_id for offer in offers] == [courier.id]
    assert await expire_offers(app.state.session_factory) == 0


async def test_shift_end_hands_offer_on(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    far, near, _ = dispatch.couriers
    await put_on_shift(session, far, FAR)
    await put_on_shift(session, near, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)

    ended = await client.post(
        "/api/v1/courier/shift", json={"on_shift": False}, headers=near.headers
    )
    await expire_offers(app.state.session_factory)

    assert ended.status_code == 200
    assert ended.json()["on_shift"] is False
    offers = await offers_of(session, order.id)
    assert [(offer.courier_id, offer.status) for offer in offers] == [
        (near.id, "expired"),
        (far.id, "offered"),
    ]


async def test_cancel_withdraws_offer(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    near = dispatch.couriers[1]
    await put_on_shift(session, near, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)

    cancelled = await client.post(
        f"{dispatch.order_url(order.id)}/transitions",
        json={"status": "cancelled", "reason": "customer gave up"},
        headers=dispatch.headers,
    )

    assert cancelled.status_code == 200
    (offer,) = await offers_of(session, order.id)
    assert offer.status == OfferStatus.WITHDRAWN.value
    listed = await client.get(OFFERS_URL, headers=near.headers)
    assert listed.json()["items"] == []


async def test_offer_of_another_courier_not_found(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    owner, other, _ = dispatch.couriers
    await put_on_shift(session, owner, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    (offer,) = await offers_of(session, order.id)

    accept = await client.post(f"{OFFERS_URL}/{offer.id}/accept", headers=other.headers)
    decline = await client.post(f"{OFFERS_URL}/{offer.id}/decline", headers=other.headers)

    assert accept.status_code == 404
    assert decline.status_code == 404
    assert accept.headers["content-type"] == "application/problem+json"


async def test_concurrent_accepts_one_wins(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    first, second, _ = dispatch.couriers
    await put_on_shift(session, first, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    # A second open offer for the same order, as when two offers overlap.
    now = utcnow()
    rival = DeliveryOffer(
        store_id=dispatch.store.id,
        order_id=order.id,
        courier_id=second.id,
        offered_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    session.add(rival)
    await session.commit()
    (own, _) = await offers_of(session, order.id)

    responses = await asyncio.gather(
        client.post(f"{OFFERS_URL}/{own.id}/accept", headers=first.headers),
        client.post(f"{OFFERS_URL}/{rival.id}/accept", headers=second.headers),
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 409], [response.text for response in responses]
    winner = first if responses[0].status_code == 200 else second
    assigned = await fresh_order(session, order.id)
    assert assigned.courier_id == winner.id
    statuses = {offer.courier_id: offer.status for offer in await offers_of(session, order.id)}
    loser = second if winner is first else first
    assert statuses == {winner.id: "accepted", loser.id: "withdrawn"}


async def test_concurrent_expiry_runs_offer_once(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    far, near, nowhere = dispatch.couriers
    await put_on_shift(session, far, FAR)
    await put_on_shift(session, near, NEAR)
    await put_on_shift(session, nowhere, None)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    (first,) = await offers_of(session, order.id)
    await expire_offer(session, first.id, utcnow() - timedelta(seconds=1))

    made = await asyncio.gather(*(expire_offers(app.state.session_factory) for _ in range(3)))

    assert sum(made) == 1
    offers = await offers_of(session, order.id)
    assert [(offer.courier_id, offer.status) for offer in offers] == [
        (near.id, "expired"),
        (far.id, "offered"),
    ]
