"""Creating orders through the staff API: server prices and the checks before placing."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, count_orders, delivery_body, pickup_body
from zapora.catalog.models import Item
from zapora.stores.models import Store


async def test_create_prices_from_menu(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.post(
        shop.orders_url, json=delivery_body(shop.menu), headers=shop.headers
    )

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["subtotal"] == 2 * (3000 + 1500 + 400) + 600
    assert order["delivery_fee"] == 500
    assert order["total"] == 10900
    assert order["currency"] == "BRL"
    assert order["number"] == 1
    assert order["status"] == "placed"
    assert order["source"] == "staff"
    assert order["allowed_next"] == ["accepted", "cancelled"]
    assert response.headers["location"].endswith(
        f"/api/v1/stores/{shop.store.id}/orders/{order['id']}"
    )
    assert "idempotent-replayed" not in response.headers


async def test_location_names_store_id_in_standard_form(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    spelled = shop.orders_url.replace(str(shop.store.id), shop.store.id.hex.upper())
    assert spelled != shop.orders_url

    response = await client.post(
        f"{spelled}?source=test", json=pickup_body(shop.menu), headers=shop.headers
    )

    assert response.status_code == 201, response.text
    order_id = response.json()["id"]
    assert response.headers["location"] == (
        f"http://testserver/api/v1/stores/{shop.store.id}/orders/{order_id}"
    )
    read = await client.get(response.headers["location"], headers=shop.headers)
    assert read.status_code == 200, read.text


async def test_create_returns_lines_and_details(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.post(
        shop.orders_url, json=delivery_body(shop.menu), headers=shop.headers
    )

    order = response.json()
    pizza, soda = order["lines"]
    assert pizza["name"] == "Margherita"
    assert pizza["unit_price"] == 4900
    assert pizza["quantity"] == 2
    assert pizza["line_total"] == 9800
    assert pizza["notes"] == "well done"
    assert [(option["group"], option["name"], option["price"]) for option in pizza["options"]] == [
        ("Size", "Large", 1500),
        ("Extras", "Cheese", 400),
    ]
    assert soda["name"] == "Soda"
    assert soda["line_total"] == 600
    assert soda["options"] == []
    assert order["fulfilment"] == "delivery"
    assert order["address_text"] == "Rua Augusta 100, São Paulo"
    assert order["payment_method"] == "cash"
    assert order["change_for"] == 15000
    assert order["notes"] == "ring twice"
    assert order["customer_name"] == "Ana"
    assert order["customer_phone"] == "+5511955551234"
    assert order["customer_id"] is None
    assert order["cancel_reason"] is None
    assert order["placed_at"].endswith("Z")
    [event] = order["events"]
    assert event["from_status"] is None
    assert event["to_status"] == "placed"
    assert event["actor_type"] == "staff"
    assert event["actor_id"] == str(shop.user.id)


async def test_create_pickup_has_no_fee(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["subtotal"] == 3000
    assert order["delivery_fee"] == 0
    assert order["total"] == 3000
    assert order["allowed_next"] == ["accepted", "cancelled"]


async def test_create_with_coordinates_only(client: httpx.AsyncClient, shop: Shop) -> None:
    body = delivery_body(shop.menu, address_text=None, latitude=-23.5505, longitude=-46.6333)

    response = await client.post(shop.orders_url, json=body, headers=shop.headers)

    assert response.status_code == 201, response.text
    assert response.json()["latitude"] == -23.5505
    assert response.json()["longitude"] == -46.6333


async def test_create_rejects_client_prices(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    line_price = delivery_body(shop.menu)
    line_price["lines"][0]["unit_price"] = 1
    order_total = delivery_body(shop.menu, total=1)

    for body, field in [
        (line_price, "body.lines[0].unit_price"),
        (order_total, "body.total"),
    ]:
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await count_orders(session) == 0


async def test_create_rejects_numbers_as_text(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    quantity = pickup_body(shop.menu)
    quantity["lines"][0]["quantity"] = "2"
    change = delivery_body(shop.menu)
    change["payment_method"] = "cash"
    change["change_for"] = "10000"

    for body, field in [(quantity, "body.lines[0].quantity"), (change, "body.change_for")]:
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await count_orders(session) == 0


async def test_create_unknown_item(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop, session: AsyncSession
) -> None:
    unknown = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    for item_id in [unknown, str(other_shop.menu.soda.id)]:
        body = pickup_body(shop.menu, lines=[{"item_id": item_id, "quantity": 5}])
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "invalid_input"
        assert problem["errors"][0]["field"] == "lines[0].item_id"
        assert item_id in problem["detail"]
    assert await count_orders(session) == 0


async def test_create_sold_out_item(client: httpx.AsyncClient, shop: Shop) -> None:
    body = pickup_body(shop.menu, lines=[{"item_id": str(shop.menu.sold_out.id), "quantity": 1}])

    response = await client.post(shop.orders_url, json=body, headers=shop.headers)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "item_unavailable"
    assert response.json()["errors"][0]["field"] == "lines[0].item_id"


async def test_create_item_made_unavailable(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await session.execute(
        update(Item).where(Item.id == shop.menu.soda.id).values(is_available=False)
    )
    await session.commit()
    body = delivery_body(shop.menu)

    response = await client.post(shop.orders_url, json=body, headers=shop.headers)

    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "lines[1].item_id"


async def test_create_below_minimum(client: httpx.AsyncClient, shop: Shop) -> None:
    body = pickup_body(shop.menu, lines=[{"item_id": str(shop.menu.soda.id), "quantity": 1}])

    response = await client.post(shop.orders_url, json=body, headers=shop.headers)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "below_minimum_order"
    assert problem["minimum_order"] == 1000
    assert problem["subtotal"] == 600


async def test_create_in_closed_store(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    await session.execute(update(Store).where(Store.id == shop.store.id).values(is_open=False))
    await session.commit()

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "store_closed"
    assert await count_orders(session) == 0


async def test_create_delivery_without_address(client: httpx.AsyncClient, shop: Shop) -> None:
    for address in [None, "   "]:
        body = delivery_body(shop.menu, address_text=address)
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "address_text"


async def test_create_rejects_invalid_fields(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    menu = shop.menu
    cases = [
        (pickup_body(menu, lines=[]), "body.lines"),
        (pickup_body(menu, fulfilment="drone"), "body.fulfilment"),
        (pickup_body(menu, payment_method="bitcoin"), "body.payment_method"),
        (pickup_body(menu, notes="a\u0000b"), "body.notes"),
        (pickup_body(menu, customer_phone="9" * 33), "body.customer_phone"),
        (pickup_body(menu, change_for=2**31), "body.change_for"),
        (delivery_body(menu, latitude=91, longitude=0), "body.latitude"),
        (
            pickup_body(menu, lines=[{"item_id": str(menu.soda.id), "quantity": 100}]),
            "body.lines[0].quantity",
        ),
        (pickup_body(menu, lines=[{"item_id": "soda", "quantity": 1}]), "body.lines[0].item_id"),
    ]
    for body, field in cases:
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert await count_orders(session) == 0


async def test_create_checks_change_for(client: httpx.AsyncClient, shop: Shop) -> None:
    too_little = delivery_body(shop.menu, change_for=5000)
    not_cash = delivery_body(shop.menu, payment_method="pix")

    for body in [too_little, not_cash]:
        response = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "change_for"


async def test_create_rejects_missing_required_option(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = pickup_body(shop.menu, lines=[{"item_id": str(shop.menu.pizza.id), "quantity": 1}])

    response = await client.post(shop.orders_url, json=body, headers=shop.headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "lines[0].option_ids"


async def test_create_numbers_orders_in_sequence(client: httpx.AsyncClient, shop: Shop) -> None:
    numbers = []
    for _ in range(3):
        response = await client.post(
            shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers
        )
        numbers.append(response.json()["number"])

    assert numbers == [1, 2, 3]
