"""Assigning a courier by staff or by accepting an offer, and the customer's handover code."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import (
    NEAR,
    Dispatch,
    advance,
    assignment_messages,
    fresh_order,
    make_ready,
    offers_of,
    place_order,
    put_on_shift,
)
from zapora.orders.models import Fulfilment


def _assign_url(dispatch: Dispatch, order_id: object) -> str:
    return f"{dispatch.order_url(order_id)}/courier"


async def test_accept_assigns_and_sends_code(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    await put_on_shift(session, courier, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    (offer,) = await offers_of(session, order.id)

    response = await client.post(
        f"/api/v1/courier/offers/{offer.id}/accept", headers=courier.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["order"]["id"] == str(order.id)
    assigned = await fresh_order(session, order.id)
    assert assigned.courier_id == courier.id
    assert assigned.handover_code is not None
    assert len(assigned.handover_code) == 4
    assert assigned.handover_code.isdigit()
    (message,) = await assignment_messages(session, order.id)
    body = message.body["text"]["body"]
    assert "Ana" in body
    assert "Souza" not in body
    assert assigned.handover_code in body
    (accepted,) = await offers_of(session, order.id)
    assert accepted.status == "accepted"
    # Staff read the message log, but never the code that proves the handover.
    log = await client.get(f"{dispatch.order_url(order.id)}/messages", headers=dispatch.headers)
    (logged,) = [entry for entry in log.json() if entry["kind"] == "assignment"]
    assert assigned.handover_code not in logged["summary"]
    assert "••••" in logged["summary"]


async def test_staff_assigns_preparing_order(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[1]
    order = await place_order(session, dispatch)
    await advance(client, dispatch, order.id, "accepted", "preparing")

    response = await client.post(
        _assign_url(dispatch, order.id),
        json={"courier_id": str(courier.id)},
        headers=dispatch.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["courier_id"] == str(courier.id)
    assert response.json()["courier_name"] == "Bruno Lima"
    assert len(await assignment_messages(session, order.id)) == 1
    shown = await client.get(dispatch.order_url(order.id), headers=dispatch.headers)
    assert shown.json()["courier_id"] == str(courier.id)
    assert shown.json()["courier_assigned_at"] is not None
    listed = await client.get(f"{dispatch.store_url}/orders", headers=dispatch.headers)
    assert listed.json()["items"][0]["courier_id"] == str(courier.id)
    # Already assigned, so becoming ready starts no automatic dispatch.
    await put_on_shift(session, dispatch.couriers[0], NEAR)
    await advance(client, dispatch, order.id, "ready")
    assert await offers_of(session, order.id) == []
    deliveries = await client.get("/api/v1/courier/deliveries", headers=courier.headers)
    assert [item["order"]["id"] for item in deliveries.json()["items"]] == [str(order.id)]


async def test_staff_assignment_withdraws_offer(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    offered, chosen, _ = dispatch.couriers
    await put_on_shift(session, offered, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)

    response = await client.post(
        _assign_url(dispatch, order.id),
        json={"courier_id": str(chosen.id)},
        headers=dispatch.headers,
    )

    assert response.status_code == 200
    (offer,) = await offers_of(session, order.id)
    assert offer.status == "withdrawn"
    late = await client.post(f"/api/v1/courier/offers/{offer.id}/accept", headers=offered.headers)
    assert late.status_code == 409


async def test_reassign_sends_new_code(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    first, second, _ = dispatch.couriers
    order = await place_order(session, dispatch)
    await advance(client, dispatch, order.id, "accepted", "preparing")
    url = _assign_url(dispatch, order.id)

    await client.post(url, json={"courier_id": str(first.id)}, headers=dispatch.headers)
    repeated = await client.post(url, json={"courier_id": str(first.id)}, headers=dispatch.headers)
    assert repeated.status_code == 200
    assert len(await assignment_messages(session, order.id)) == 1
    replaced = await client.post(url, json={"courier_id": str(second.id)}, headers=dispatch.headers)

    assert replaced.status_code == 200
    assert (await fresh_order(session, order.id)).courier_id == second.id
    messages = await assignment_messages(session, order.id)
    assert len(messages) == 2
    assert "Bruno" in messages[1].body["text"]["body"]


async def test_assignment_refused_states(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    placed = await place_order(session, dispatch)
    pickup = await place_order(session, dispatch, Fulfilment.PICKUP)
    await advance(client, dispatch, pickup.id, "accepted", "preparing")
    body = {"courier_id": str(courier.id)}

    too_early = await client.post(
        _assign_url(dispatch, placed.id), json=body, headers=dispatch.headers
    )
    for_pickup = await client.post(
        _assign_url(dispatch, pickup.id), json=body, headers=dispatch.headers
    )

    assert too_early.status_code == 409
    assert too_early.json()["current_status"] == "placed"
    assert for_pickup.status_code == 409
    assert "pickup" in for_pickup.json()["detail"]
    assert (await fresh_order(session, placed.id)).courier_id is None
    assert await assignment_messages(session, placed.id) == []


async def test_assignment_needs_own_courier(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dispatch: Dispatch,
    other_dispatch: Dispatch,
) -> None:
    order = await place_order(session, dispatch)
    await advance(client, dispatch, order.id, "accepted", "preparing")
    url = _assign_url(dispatch, order.id)

    foreign = await client.post(
        url, json={"courier_id": str(other_dispatch.couriers[0].id)}, headers=dispatch.headers
    )
    not_courier = await client.post(
        url, json={"courier_id": str(dispatch.manager.id)}, headers=dispatch.headers
    )
    other_staff = await client.post(
        url,
        json={"courier_id": str(other_dispatch.couriers[0].id)},
        headers=other_dispatch.headers,
    )
    by_courier = await client.post(
        url, json={"courier_id": str(dispatch.couriers[0].id)}, headers=dispatch.couriers[0].headers
    )

    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "courier_id"
    assert not_courier.status_code == 422
    assert other_staff.status_code == 404
    assert by_courier.status_code == 403
    assert (await fresh_order(session, order.id)).courier_id is None
