"""The payments API: an order's PIX code and QR image, and marking payments received."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_user
from tests.orders.builders import Shop, delivery_body, pickup_body
from tests.payments.conftest import PIX_KEY
from zapora.auth.models import Role
from zapora.payments.pix import crc16_ccitt, decode

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def _place(client: httpx.AsyncClient, shop: Shop, **overrides: Any) -> dict[str, Any]:
    body = delivery_body(shop.menu, payment_method="pix", change_for=None, **overrides)
    response = await client.post(shop.orders_url, json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_pix_code_charges_order_total(client, pix_shop: Shop):
    order = await _place(client, pix_shop)

    response = await client.get(f"{pix_shop.order_url(order['id'])}/pix", headers=pix_shop.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["amount"] == order["total"] == 10900
    assert body["currency"] == "BRL"
    code = body["code"]
    assert code[-4:] == f"{crc16_ccitt(code[:-4].encode()):04X}"
    decoded = decode(code)
    assert decoded.key == PIX_KEY
    assert decoded.merchant_name == "PIZZARIA SAO JOAO LTDA. &"
    assert decoded.merchant_city == "SAO JOSE DOS CA"
    assert decoded.amount == 10900
    assert decoded.fields["54"] == "109.00"
    assert decoded.txid == body["txid"]
    assert body["txid"].startswith(f"ZAP{order['number']}")
    assert body["txid"].isalnum()
    assert len(body["txid"]) <= 25


async def test_pix_code_differs_per_order(client, pix_shop: Shop):
    first = await _place(client, pix_shop)
    second = await _place(client, pix_shop, fulfilment="pickup", address_text=None)
    codes = []
    for order in (first, second):
        response = await client.get(
            f"{pix_shop.order_url(order['id'])}/pix", headers=pix_shop.headers
        )
        codes.append(response.json())

    assert codes[0]["txid"] != codes[1]["txid"]
    assert decode(codes[1]["code"]).amount == second["total"] == 10400


async def test_merchant_name_defaults_to_store_name(client, session: AsyncSession, pix_shop):
    pix_shop.store.pix_merchant_name = None
    pix_shop.store.name = "Cantina Ávila"
    await session.commit()
    order = await _place(client, pix_shop)

    response = await client.get(f"{pix_shop.order_url(order['id'])}/pix", headers=pix_shop.headers)

    assert decode(response.json()["code"]).merchant_name == "CANTINA AVILA"


async def test_qr_image_is_png(client, pix_shop: Shop):
    order = await _place(client, pix_shop)

    response = await client.get(
        f"{pix_shop.order_url(order['id'])}/pix/qr.png", headers=pix_shop.headers
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    assert len(response.content) > 500
    assert response.headers["cache-control"] == "no-store"


async def test_order_not_paid_by_pix_is_404(client, pix_shop: Shop):
    body = pickup_body(pix_shop.menu)
    created = await client.post(pix_shop.orders_url, json=body, headers=pix_shop.headers)
    order_url = pix_shop.order_url(created.json()["id"])

    for path in ("/pix", "/pix/qr.png"):
        response = await client.get(order_url + path, headers=pix_shop.headers)
        assert response.status_code == 404, path
        assert "card_on_delivery" in response.json()["detail"]


async def test_store_without_key_is_409(client, plain_shop: Shop):
    order = await _place(client, plain_shop)

    for path in ("/pix", "/pix/qr.png"):
        response = await client.get(
            plain_shop.order_url(order["id"]) + path, headers=plain_shop.headers
        )
        assert response.status_code == 409, path
        problem = response.json()
        assert problem["code"] == "pix_not_configured"
        assert problem["errors"][0]["field"] == "pix_key"
        assert "PATCH /api/v1/stores" in problem["errors"][0]["fix"]


async def test_store_without_city_is_409(client, session: AsyncSession, pix_shop):
    pix_shop.store.pix_merchant_city = None
    await session.commit()
    order = await _place(client, pix_shop)

    response = await client.get(f"{pix_shop.order_url(order['id'])}/pix", headers=pix_shop.headers)

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "pix_merchant_city"


async def test_other_store_order_is_404(client, pix_shop: Shop, plain_shop: Shop):
    order = await _place(client, pix_shop)
    foreign_urls = [
        # The other store's manager asking through their own store for this order.
        plain_shop.order_url(order["id"]),
        # ... and through this store's id, which they do not belong to.
        pix_shop.order_url(order["id"]),
    ]

    for url in foreign_urls:
        for path in ("/pix", "/pix/qr.png"):
            response = await client.get(url + path, headers=plain_shop.headers)
            assert response.status_code == 404, (url, path)
        marked = await client.post(
            url + "/payment", json={"received": True}, headers=plain_shop.headers
        )
        assert marked.status_code == 404, url
    own = await client.get(f"{pix_shop.order_url(order['id'])}/payment", headers=pix_shop.headers)
    assert own.status_code == 405


async def _audit(client: httpx.AsyncClient, shop: Shop, order_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/stores/{shop.store.id}/audit",
        params={"action": "order.payment_received", "target_id": order_id},
        headers=shop.headers,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_mark_payment_received(client, pix_shop: Shop):
    order = await _place(client, pix_shop)
    url = f"{pix_shop.order_url(order['id'])}/payment"

    response = await client.post(url, json={"received": True}, headers=pix_shop.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order_id"] == order["id"]
    assert body["payment_method"] == "pix"
    assert body["payment_received_by"] == str(pix_shop.user.id)
    assert body["payment_received_at"] is not None
    entries = await _audit(client, pix_shop, order["id"])
    assert len(entries) == 1
    assert entries[0]["actor_id"] == str(pix_shop.user.id)
    assert entries[0]["target_type"] == "order"
    assert entries[0]["before"] == {"payment_received_at": None}
    assert entries[0]["after"]["total"] == 10900
    detail = (await client.get(pix_shop.order_url(order["id"]), headers=pix_shop.headers)).json()
    assert detail["payment_received_by"] == str(pix_shop.user.id)
    assert detail["payment_received_at"] == body["payment_received_at"]


async def test_mark_payment_twice_keeps_first(client, session: AsyncSession, pix_shop: Shop):
    order = await _place(client, pix_shop)
    url = f"{pix_shop.order_url(order['id'])}/payment"
    first = await client.post(url, json={"received": True}, headers=pix_shop.headers)
    staff = await make_user(session, pix_shop.store, Role.STORE_STAFF)
    await session.commit()

    second = await client.post(url, json={"received": True}, headers=await login(client, staff))

    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert len(await _audit(client, pix_shop, order["id"])) == 1


async def test_mark_cancelled_order_is_409(client, pix_shop: Shop):
    order = await _place(client, pix_shop)
    cancelled = await client.post(
        f"{pix_shop.order_url(order['id'])}/transitions",
        json={"status": "cancelled", "reason": "customer gave up"},
        headers=pix_shop.headers,
    )
    assert cancelled.status_code == 200, cancelled.text

    response = await client.post(
        f"{pix_shop.order_url(order['id'])}/payment",
        json={"received": True},
        headers=pix_shop.headers,
    )

    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]
    assert await _audit(client, pix_shop, order["id"]) == []


async def test_mark_payment_of_cash_order(client, plain_shop: Shop):
    body = delivery_body(plain_shop.menu)
    created = await client.post(plain_shop.orders_url, json=body, headers=plain_shop.headers)

    response = await client.post(
        f"{plain_shop.order_url(created.json()['id'])}/payment",
        json={"received": True},
        headers=plain_shop.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["payment_method"] == "cash"


async def test_mark_payment_requires_true(client, pix_shop: Shop):
    order = await _place(client, pix_shop)
    url = f"{pix_shop.order_url(order['id'])}/payment"

    for body in ({"received": False}, {}, {"received": True, "extra": 1}):
        response = await client.post(url, json=body, headers=pix_shop.headers)
        assert response.status_code == 422, body


async def test_courier_can_neither_read_nor_mark(client, session: AsyncSession, pix_shop: Shop):
    order = await _place(client, pix_shop)
    courier = await make_user(session, pix_shop.store, Role.COURIER)
    await session.commit()
    headers = await login(client, courier)

    code = await client.get(f"{pix_shop.order_url(order['id'])}/pix", headers=headers)
    marked = await client.post(
        f"{pix_shop.order_url(order['id'])}/payment", json={"received": True}, headers=headers
    )

    # Couriers reach orders only through their own delivery routes.
    assert code.status_code == 403
    assert "orders:read" in code.json()["detail"]
    assert marked.status_code == 403
    assert "payments:update" in marked.json()["detail"]
