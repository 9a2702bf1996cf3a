"""Setting a store's PIX key, merchant name and city through the store settings API."""

from __future__ import annotations

import pytest

from tests.orders.builders import Shop


def _store_url(shop: Shop) -> str:
    return f"/api/v1/stores/{shop.store.id}"


async def test_manager_sets_pix_fields(client, plain_shop: Shop):
    body = {
        "pix_key": "529.982.247-25",
        "pix_merchant_name": "Pizzaria Bella",
        "pix_merchant_city": "Curitiba",
    }

    response = await client.patch(_store_url(plain_shop), json=body, headers=plain_shop.headers)

    assert response.status_code == 200, response.text
    store = response.json()
    assert store["pix_key"] == "52998224725"
    assert store["pix_merchant_name"] == "Pizzaria Bella"
    assert store["pix_merchant_city"] == "Curitiba"
    read = await client.get(_store_url(plain_shop), headers=plain_shop.headers)
    assert read.json()["pix_key"] == "52998224725"


async def test_null_clears_pix_key(client, pix_shop: Shop):
    response = await client.patch(
        _store_url(pix_shop), json={"pix_key": None}, headers=pix_shop.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["pix_key"] is None
    assert response.json()["pix_merchant_city"] == "São José dos Campos"


@pytest.mark.parametrize(
    "key",
    ["12345678900", "1234", "+1 415 555 1234", "loja@", "not a key", "11222333000100", " "],
)
async def test_invalid_pix_key_is_422(client, plain_shop: Shop, key):
    response = await client.patch(
        _store_url(plain_shop), json={"pix_key": key}, headers=plain_shop.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.pix_key"


@pytest.mark.parametrize("field", ["pix_merchant_name", "pix_merchant_city"])
async def test_merchant_text_without_letters_is_422(client, plain_shop: Shop, field):
    for value in ("!!!", "😀", "a\x00b", "x" * 101):
        response = await client.patch(
            _store_url(plain_shop), json={field: value}, headers=plain_shop.headers
        )
        assert response.status_code == 422, value
        assert response.json()["errors"][0]["field"] == f"body.{field}"


async def test_pix_key_change_is_audited(client, plain_shop: Shop):
    await client.patch(
        _store_url(plain_shop), json={"pix_key": "Loja@Example.com"}, headers=plain_shop.headers
    )

    response = await client.get(
        f"{_store_url(plain_shop)}/audit",
        params={"action": "store.updated"},
        headers=plain_shop.headers,
    )

    entries = response.json()["items"]
    assert len(entries) == 1
    assert entries[0]["before"] == {"pix_key": None}
    assert entries[0]["after"] == {"pix_key": "loja@example.com"}
