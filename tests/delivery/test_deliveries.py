"""A courier's deliveries: pick up, hand over with the code or a photo, or report failure."""

from __future__ import annotations

import struct
import zlib

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import (
    NEAR,
    Courier,
    Dispatch,
    advance,
    fresh_order,
    make_ready,
    offers_of,
    place_order,
    put_on_shift,
)
from zapora.delivery.deliveries import MAX_CODE_ATTEMPTS
from zapora.orders.models import Order

DELIVERIES_URL = "/api/v1/courier/deliveries"


def tiny_png() -> bytes:
    """Return a valid 1x1 white PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def take_order(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch, courier: Courier
) -> Order:
    """Place an order, make it ready and let ``courier`` accept and pick it up."""
    await put_on_shift(session, courier, NEAR)
    order = await place_order(session, dispatch)
    await make_ready(client, dispatch, order.id)
    offers = await offers_of(session, order.id)
    accepted = await client.post(
        f"/api/v1/courier/offers/{offers[-1].id}/accept", headers=courier.headers
    )
    assert accepted.status_code == 200, accepted.text
    picked = await client.post(f"{DELIVERIES_URL}/{order.id}/picked-up", headers=courier.headers)
    assert picked.status_code == 200, picked.text
    return await fresh_order(session, order.id)


async def test_deliver_with_handover_code(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    assert order.status == "out_for_delivery"
    assert order.handover_code is not None

    response = await client.post(
        f"{DELIVERIES_URL}/{order.id}/delivered",
        data={"handover_code": order.handover_code},
        headers=courier.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["order"]["status"] == "delivered"
    delivered = await fresh_order(session, order.id)
    assert delivered.status == "delivered"
    assert delivered.proof_photo_key is None
    active = await client.get(DELIVERIES_URL, headers=courier.headers)
    assert active.json()["items"] == []


async def test_wrong_code_limited_attempts(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    assert order.handover_code is not None
    wrong = "0000" if order.handover_code != "0000" else "1111"
    url = f"{DELIVERIES_URL}/{order.id}/delivered"

    for attempt in range(MAX_CODE_ATTEMPTS):
        response = await client.post(url, data={"handover_code": wrong}, headers=courier.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "wrong_handover_code"
        assert response.json()["attempts_left"] == MAX_CODE_ATTEMPTS - attempt - 1
    locked = await client.post(
        url, data={"handover_code": order.handover_code}, headers=courier.headers
    )
    with_photo = await client.post(
        url, files={"photo": ("door.png", tiny_png(), "image/png")}, headers=courier.headers
    )

    assert locked.status_code == 429
    assert locked.json()["errors"][0]["field"] == "handover_code"
    assert with_photo.status_code == 200, with_photo.text
    assert (await fresh_order(session, order.id)).status == "delivered"


async def test_deliver_with_photo(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch, storage_path
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    photo = tiny_png()

    response = await client.post(
        f"{DELIVERIES_URL}/{order.id}/delivered",
        files={"photo": ("door.png", photo, "image/png")},
        headers=courier.headers,
    )

    assert response.status_code == 200, response.text
    delivered = await fresh_order(session, order.id)
    assert delivered.proof_photo_key is not None
    assert delivered.proof_photo_key.startswith(f"proof/{dispatch.store.id}/{order.id}/")
    assert delivered.proof_photo_key.endswith(".png")
    assert (storage_path / delivered.proof_photo_key).read_bytes() == photo


async def test_photo_checked(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)
    url = f"{DELIVERIES_URL}/{order.id}/delivered"

    text_file = await client.post(
        url,
        files={"photo": ("door.png", b"GIF89a not a photo", "image/png")},
        headers=courier.headers,
    )
    too_large = await client.post(
        url,
        files={"photo": ("door.jpg", b"\xff\xd8\xff" + b"\x00" * 5000, "image/jpeg")},
        headers=courier.headers,
    )
    nothing = await client.post(url, data={}, headers=courier.headers)

    assert text_file.status_code == 415
    assert text_file.json()["errors"][0]["field"] == "photo"
    assert too_large.status_code == 413
    assert too_large.json()["errors"][0]["field"] == "photo"
    assert nothing.status_code == 422
    assert (await fresh_order(session, order.id)).status == "out_for_delivery"


async def test_deliver_before_pickup_conflicts(
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
    assigned = await fresh_order(session, order.id)

    early_pickup = await client.post(
        f"{DELIVERIES_URL}/{order.id}/picked-up", headers=courier.headers
    )
    early_delivery = await client.post(
        f"{DELIVERIES_URL}/{order.id}/delivered",
        data={"handover_code": assigned.handover_code},
        headers=courier.headers,
    )

    assert early_pickup.status_code == 409
    assert early_delivery.status_code == 409
    assert (await fresh_order(session, order.id)).status == "preparing"


async def test_other_courier_cannot_touch(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dispatch: Dispatch,
    other_dispatch: Dispatch,
) -> None:
    owner, colleague, _ = dispatch.couriers
    order = await take_order(client, session, dispatch, owner)
    stranger = other_dispatch.couriers[0]

    for courier in (colleague, stranger):
        delivered = await client.post(
            f"{DELIVERIES_URL}/{order.id}/delivered",
            data={"handover_code": order.handover_code},
            headers=courier.headers,
        )
        failed = await client.post(
            f"{DELIVERIES_URL}/{order.id}/failed",
            json={"reason": "not mine"},
            headers=courier.headers,
        )
        listed = await client.get(DELIVERIES_URL, headers=courier.headers)
        assert delivered.status_code == 404
        assert failed.status_code == 404
        assert listed.json()["items"] == []
    assert (await fresh_order(session, order.id)).status == "out_for_delivery"


async def test_failed_delivery_dispatched_again(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier, other, _ = dispatch.couriers
    order = await take_order(client, session, dispatch, courier)

    failed = await client.post(
        f"{DELIVERIES_URL}/{order.id}/failed",
        json={"reason": "nobody at the door"},
        headers=courier.headers,
    )
    empty_reason = await client.post(
        f"{DELIVERIES_URL}/{order.id}/failed", json={"reason": ""}, headers=courier.headers
    )

    assert failed.status_code == 200, failed.text
    assert failed.json()["delivery_failed_reason"] == "nobody at the door"
    assert empty_reason.status_code == 422
    stored = await fresh_order(session, order.id)
    assert stored.status == "delivery_failed"
    assert stored.delivery_failed_reason == "nobody at the door"
    await put_on_shift(session, other, NEAR)
    await advance(client, dispatch, order.id, "ready")
    again = await fresh_order(session, order.id)
    assert again.courier_id is None
    assert again.handover_code is None
    offers = await offers_of(session, order.id)
    assert offers[-1].status == "offered"
    assert len(offers) == 2
