"""Orders priced by delivery zone: copied terms, zone minimums, typed addresses, fee checks."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, count_orders, delivery_body, make_customer, pickup_body
from tests.stores.test_zones_api import IN_WEST, ON_EDGE, OUTSIDE, create_zone
from tests.stores.test_zones_geometry import EAST
from zapora.audit.models import AuditEntry
from zapora.orders.models import ActorType, Fulfilment, Order, OrderSource, PaymentMethod
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store, TypedAddressPolicy

# delivery_body's subtotal.
SUBTOTAL = 10400


def pinned(shop: Shop, point: dict[str, float], **overrides: Any) -> dict[str, Any]:
    return delivery_body(shop.menu, **point, **overrides)


async def place(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> httpx.Response:
    return await client.post(shop.orders_url, json=body, headers=shop.headers)


async def set_policy(session: AsyncSession, shop: Shop, policy: TypedAddressPolicy) -> None:
    store = await session.get(Store, shop.store.id)
    assert store is not None
    store.typed_address_policy = policy.value
    await session.commit()


async def test_pin_copies_zone_terms(client: httpx.AsyncClient, shop: Shop) -> None:
    zone = await create_zone(client, shop, fee=800, minimum_order=2500, estimate_minutes=45)

    response = await place(client, shop, pinned(shop, IN_WEST))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["delivery_fee"] == 800
    assert order["total"] == SUBTOTAL + 800
    assert order["delivery_zone_id"] == zone["id"]
    assert order["delivery_zone_name"] == "Oeste"
    assert order["zone_minimum_order"] == 2500
    assert order["estimate_minutes"] == 45
    assert order["fee_pending"] is False
    placed_at = datetime.fromisoformat(order["placed_at"])
    estimated = datetime.fromisoformat(order["estimated_delivery_at"])
    assert estimated - placed_at == timedelta(minutes=45)


async def test_zone_edit_leaves_order_unchanged(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    zone = await create_zone(client, shop, fee=800)
    order = (await place(client, shop, pinned(shop, IN_WEST))).json()
    zone_url = f"/api/v1/stores/{shop.store.id}/zones/{zone['id']}"
    assert (await client.patch(zone_url, json={"fee": 1500}, headers=shop.headers)).is_success
    assert (await client.delete(zone_url, headers=shop.headers)).status_code == 204

    reread = (await client.get(shop.order_url(order["id"]), headers=shop.headers)).json()
    assert reread["delivery_fee"] == 800
    assert reread["delivery_zone_name"] == "Oeste"
    assert reread["delivery_zone_id"] is None


async def test_shared_edge_order_takes_cheaper_zone(client: httpx.AsyncClient, shop: Shop) -> None:
    await create_zone(client, shop, name="Oeste", fee=800)
    await create_zone(client, shop, ring=EAST, name="Leste", fee=600)

    order = (await place(client, shop, pinned(shop, ON_EDGE))).json()

    assert order["delivery_zone_name"] == "Leste"
    assert order["delivery_fee"] == 600


async def test_zone_minimum_applies(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await create_zone(client, shop, name="Longe", minimum_order=SUBTOTAL + 1)

    response = await place(client, shop, pinned(shop, IN_WEST))

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "below_minimum_order"
    assert "the zone 'Longe'" in problem["detail"]
    assert problem["minimum_order"] == SUBTOTAL + 1
    assert problem["delivery_zone"] == "Longe"
    assert await count_orders(session) == 0


async def test_zone_minimum_replaces_store_minimum(client: httpx.AsyncClient, shop: Shop) -> None:
    # The store's minimum is 1000 and the zone's is 0, so only pickup rejects one soda.
    await create_zone(client, shop, minimum_order=0)
    small = {"lines": [{"item_id": str(shop.menu.soda.id), "quantity": 1}]}

    delivered = await place(client, shop, pinned(shop, IN_WEST, **small, change_for=None))
    picked = await place(client, shop, pickup_body(shop.menu, **small))

    assert delivered.status_code == 201, delivered.text
    assert picked.status_code == 422
    assert picked.json()["code"] == "below_minimum_order"


async def test_pin_outside_every_zone(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await create_zone(client, shop)

    response = await place(client, shop, pinned(shop, OUTSIDE))

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "outside_delivery_area"
    assert problem["errors"][0]["field"] == "latitude"
    assert "pickup" in problem["errors"][0]["fix"]
    assert await count_orders(session) == 0


async def test_no_zones_keeps_flat_fee(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await place(client, shop, pinned(shop, OUTSIDE))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["delivery_fee"] == 500
    assert order["delivery_zone_name"] is None
    assert order["estimate_minutes"] is None
    assert order["estimated_delivery_at"] is None
    assert order["fee_pending"] is False


async def test_typed_address_refused(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await create_zone(client, shop)
    await set_policy(session, shop, TypedAddressPolicy.REFUSE)

    response = await place(client, shop, delivery_body(shop.menu))

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "location_required"
    assert problem["errors"][0]["field"] == "address_text"
    assert "latitude and longitude" in problem["errors"][0]["fix"]
    assert await count_orders(session) == 0


async def test_typed_address_fee_confirmed_then_accepted(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await create_zone(client, shop)
    customer = await make_customer(session, shop.store)
    draft = OrderDraft(
        lines=[
            LineRequest(item_id=shop.menu.pizza.id, quantity=1, option_ids=(shop.menu.large.id,))
        ],
        fulfilment=Fulfilment.DELIVERY,
        payment_method=PaymentMethod.PIX,
        source=OrderSource.WHATSAPP,
        address_text="Rua Augusta 100",
        customer_id=customer.id,
    )
    placed = await place_order(
        session, shop.store, draft, actor_type=ActorType.CUSTOMER, actor_id=None
    )
    await session.commit()
    url = shop.order_url(placed.id)

    pending = (await client.get(url, headers=shop.headers)).json()
    assert pending["fee_pending"] is True
    assert pending["delivery_fee"] == 500
    assert pending["total"] == 4500 + 500

    early = await client.post(
        f"{url}/transitions", json={"status": "accepted"}, headers=shop.headers
    )
    assert early.status_code == 409
    assert early.json()["errors"][0]["field"] == "delivery_fee"

    confirmed = await client.post(
        f"{url}/delivery-fee", json={"delivery_fee": 1200}, headers=shop.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["fee_pending"] is False
    assert confirmed.json()["delivery_fee"] == 1200
    assert confirmed.json()["total"] == 4500 + 1200

    again = await client.post(f"{url}/delivery-fee", json={"delivery_fee": 1}, headers=shop.headers)
    assert again.status_code == 409

    accepted = await client.post(
        f"{url}/transitions", json={"status": "accepted"}, headers=shop.headers
    )
    assert accepted.status_code == 200, accepted.text

    await session.commit()
    notice = await session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.order_id == placed.id, OutboxMessage.kind == "fee_confirmed"
        )
    )
    assert notice is not None
    assert notice.to == customer.wa_id
    assert "R$ 12,00" in notice.body["text"]["body"]
    assert "R$ 57,00" in notice.body["text"]["body"]
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "order.delivery_fee_confirmed")
    )
    assert entry is not None
    assert entry.before == {"delivery_fee": 500, "total": 5000, "fee_pending": True}
    assert entry.after == {"delivery_fee": 1200, "total": 5700, "fee_pending": False}


async def test_fee_confirmation_needs_placed_order(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    await create_zone(client, shop)
    order = (await place(client, shop, delivery_body(shop.menu))).json()
    assert order["fee_pending"] is True
    url = shop.order_url(order["id"])
    cancel = {"status": "cancelled", "reason": "customer called"}
    assert (await client.post(f"{url}/transitions", json=cancel, headers=shop.headers)).is_success

    response = await client.post(
        f"{url}/delivery-fee", json={"delivery_fee": 900}, headers=shop.headers
    )

    assert response.status_code == 409
    assert response.json()["current_status"] == "cancelled"
    await session.commit()
    stored = await session.get(Order, uuid.UUID(order["id"]))
    assert stored is not None
    assert stored.delivery_fee == 500


async def test_fee_confirmation_rejects_bad_fee(client: httpx.AsyncClient, shop: Shop) -> None:
    await create_zone(client, shop)
    order = (await place(client, shop, delivery_body(shop.menu))).json()
    url = f"{shop.order_url(order['id'])}/delivery-fee"

    for fee in (-1, "ten", 10_000_001, True, "100", 100.5):
        response = await client.post(url, json={"delivery_fee": fee}, headers=shop.headers)
        assert response.status_code == 422, fee
        assert response.json()["errors"][0]["field"] == "body.delivery_fee"


async def test_fee_confirmation_other_store(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    await create_zone(client, shop)
    order = (await place(client, shop, delivery_body(shop.menu))).json()

    response = await client.post(
        f"{other_shop.orders_url}/{order['id']}/delivery-fee",
        json={"delivery_fee": 900},
        headers=other_shop.headers,
    )

    assert response.status_code == 404


@pytest.mark.parametrize(("field", "value"), [("latitude", "NaN"), ("longitude", "Infinity")])
async def test_pin_not_finite(
    session: AsyncSession, client: httpx.AsyncClient, shop: Shop, field: str, value: str
) -> None:
    await create_zone(client, shop)
    body = pinned(shop, IN_WEST)
    # Written by hand, because httpx's json= refuses to encode NaN and Infinity.
    text = json.dumps(body).replace(f'"{field}": {json.dumps(body[field])}', f'"{field}": {value}')
    headers = {**shop.headers, "Content-Type": "application/json"}

    response = await client.post(shop.orders_url, content=text, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == f"body.{field}"
    assert "finite" in error["message"]
    assert await count_orders(session) == 0
