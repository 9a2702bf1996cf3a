"""Store routes: which stores each role can read, settings changes and store creation."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.factories import login, make_store, make_user
from zapora.auth.models import Role
from zapora.stores.models import Store

STORE_FIELDS = {
    "id",
    "slug",
    "name",
    "time_zone",
    "currency",
    "language",
    "whatsapp_phone_number_id",
    "has_whatsapp_access_token",
    "delivery_fee",
    "minimum_order",
    "is_open",
    "last_order_lead_minutes",
    "pix_key",
    "pix_merchant_name",
    "pix_merchant_city",
    "latitude",
    "longitude",
    "typed_address_policy",
    "update_template_name",
    "update_template_language",
    "update_template_parameters",
    "courier_offer_seconds",
}


async def _headers_for(client, session, store, role=Role.STORE_MANAGER) -> dict[str, str]:
    user = await make_user(session, store, role)
    await session.commit()
    return await login(client, user)


def _first_error(response) -> dict:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["errors"][0]


async def test_manager_lists_only_own_store(client, session):
    own = await make_store(session, whatsapp_access_token="secret-token-a")
    await make_store(session)
    headers = await _headers_for(client, session, own)

    response = await client.get("/api/v1/stores", headers=headers)

    assert response.status_code == 200
    [store] = response.json()
    assert set(store) == STORE_FIELDS
    assert store["id"] == str(own.id)
    assert store["slug"] == own.slug
    assert store["time_zone"] == "America/Sao_Paulo"
    assert store["currency"] == "BRL"
    assert store["language"] == "pt-BR"
    assert store["whatsapp_phone_number_id"] == own.whatsapp_phone_number_id
    assert store["has_whatsapp_access_token"] is True
    assert store["delivery_fee"] == 500
    assert store["minimum_order"] == 1000
    assert store["is_open"] is True
    assert "secret-token-a" not in response.text


async def test_admin_lists_all_stores(client, session):
    first = await make_store(session, name="B Pizza")
    second = await make_store(session, name="A Burgers")
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.get("/api/v1/stores", headers=headers)

    assert response.status_code == 200
    assert [store["id"] for store in response.json()] == [str(second.id), str(first.id)]


async def test_get_store_own_and_other(client, session):
    own = await make_store(session)
    other = await make_store(session)
    headers = await _headers_for(client, session, own, Role.COURIER)

    mine = await client.get(f"/api/v1/stores/{own.id}", headers=headers)
    theirs = await client.get(f"/api/v1/stores/{other.id}", headers=headers)
    missing = await client.get(f"/api/v1/stores/{uuid.uuid4()}", headers=headers)

    assert mine.status_code == 200
    assert mine.json()["name"] == own.name
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"
    assert missing.status_code == 404


@pytest.mark.parametrize("store_id", ["not-a-uuid", "123", "my-store"])
async def test_get_store_malformed_id_is_422(client, session, store_id):
    headers = await _headers_for(client, session, await make_store(session))

    response = await client.get(f"/api/v1/stores/{store_id}", headers=headers)

    assert _first_error(response)["field"] == "path.store_id"


async def test_manager_updates_settings(client, session):
    store = await make_store(session)
    headers = await _headers_for(client, session, store)
    changes = {
        "name": "Pizzaria Central",
        "time_zone": "America/Manaus",
        "language": "en",
        "delivery_fee": 0,
        "minimum_order": 2500,
        "is_open": False,
        "whatsapp_access_token": "EAAG-new-token",
    }

    response = await client.patch(f"/api/v1/stores/{store.id}", json=changes, headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    for field, value in changes.items():
        if field != "whatsapp_access_token":
            assert body[field] == value, field
    assert body["has_whatsapp_access_token"] is True
    assert "EAAG-new-token" not in response.text
    assert body["slug"] == store.slug
    stored = await session.scalar(
        select(Store).where(Store.id == store.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert stored.whatsapp_access_token == "EAAG-new-token"
    assert stored.time_zone == "America/Manaus"


async def test_manager_cannot_change_phone_number_id(client, session):
    store = await make_store(session)
    headers = await _headers_for(client, session, store)

    response = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"whatsapp_phone_number_id": "109876543210"},
        headers=headers,
    )

    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["field"] == "whatsapp_phone_number_id"
    stored = await session.scalar(
        select(Store).where(Store.id == store.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert stored.whatsapp_phone_number_id == store.whatsapp_phone_number_id


async def test_admin_changes_phone_number_id(client, session):
    store = await make_store(session)
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"whatsapp_phone_number_id": "109876543210"},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["whatsapp_phone_number_id"] == "109876543210"


async def test_update_clears_whatsapp_fields(client, session):
    store = await make_store(session, whatsapp_access_token="old-token")
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"whatsapp_phone_number_id": None, "whatsapp_access_token": None},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["whatsapp_phone_number_id"] is None
    assert response.json()["has_whatsapp_access_token"] is False


async def test_update_keeps_fields_not_sent(client, session):
    store = await make_store(session, whatsapp_access_token="kept-token")
    headers = await _headers_for(client, session, store)

    response = await client.patch(
        f"/api/v1/stores/{store.id}", json={"is_open": False}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["is_open"] is False
    assert response.json()["delivery_fee"] == 500
    assert response.json()["has_whatsapp_access_token"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "localtime"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"language": "fr"}, "body.language"),
        ({"delivery_fee": -1}, "body.delivery_fee"),
        ({"minimum_order": 1.5}, "body.minimum_order"),
        ({"minimum_order": 2**40}, "body.minimum_order"),
        ({"name": None}, "body.name"),
        ({"is_open": None}, "body.is_open"),
        ({"slug": "new-slug"}, "body.slug"),
        ({"currency": "USD"}, "body.currency"),
        ({"whatsapp_phone_number_id": "12 34"}, "body.whatsapp_phone_number_id"),
    ],
)
async def test_update_rejects_invalid(client, session, body, field):
    store = await make_store(session)
    headers = await _headers_for(client, session, store)

    response = await client.patch(f"/api/v1/stores/{store.id}", json=body, headers=headers)

    error = _first_error(response)
    assert error["field"] == field
    assert error["fix"]


async def test_invalid_time_zone_names_fix(client, session):
    store = await make_store(session)
    headers = await _headers_for(client, session, store)

    response = await client.patch(
        f"/api/v1/stores/{store.id}", json={"time_zone": "Sao Paulo"}, headers=headers
    )

    error = _first_error(response)
    assert error["field"] == "time_zone"
    assert "America/Sao_Paulo" in error["fix"]


async def test_update_phone_number_id_conflict(client, session):
    store = await make_store(session)
    other = await make_store(session)
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    taken = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"whatsapp_phone_number_id": other.whatsapp_phone_number_id},
        headers=headers,
    )
    own = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"whatsapp_phone_number_id": store.whatsapp_phone_number_id},
        headers=headers,
    )

    assert taken.status_code == 409, taken.text
    assert taken.json()["errors"][0]["field"] == "whatsapp_phone_number_id"
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.COURIER])
async def test_update_needs_manager(client, session, role):
    store = await make_store(session)
    headers = await _headers_for(client, session, store, role)

    response = await client.patch(
        f"/api/v1/stores/{store.id}", json={"is_open": False}, headers=headers
    )

    assert response.status_code == 403, response.text


async def test_manager_cannot_update_other_store(client, session):
    store = await make_store(session)
    other = await make_store(session, name="Untouched")
    headers = await _headers_for(client, session, store)

    response = await client.patch(
        f"/api/v1/stores/{other.id}", json={"name": "Taken over"}, headers=headers
    )

    assert response.status_code == 404
    stored = await session.scalar(
        select(Store.name).where(Store.id == other.id).execution_options(populate_existing=True)
    )
    assert stored == "Untouched"


async def test_admin_creates_store(client, session):
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)
    body = {
        "slug": "pizza-place-2",
        "name": "Pizza Place",
        "time_zone": "Europe/Lisbon",
        "currency": "EUR",
        "language": "en",
        "whatsapp_phone_number_id": "555000111",
        "whatsapp_access_token": "EAAG-token",
        "delivery_fee": 250,
        "minimum_order": 1200,
        "is_open": False,
    }

    response = await client.post("/api/v1/stores", json=body, headers=headers)

    assert response.status_code == 201, response.text
    created = response.json()
    for field, value in body.items():
        if field != "whatsapp_access_token":
            assert created[field] == value, field
    assert created["has_whatsapp_access_token"] is True
    assert "EAAG-token" not in response.text
    listed = await client.get(f"/api/v1/stores/{created['id']}", headers=headers)
    assert listed.json() == created


async def test_create_store_defaults(client, session):
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.post(
        "/api/v1/stores", json={"slug": "corner", "name": "Corner"}, headers=headers
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["time_zone"] == "America/Sao_Paulo"
    assert created["currency"] == "BRL"
    assert created["language"] == "pt-BR"
    assert created["whatsapp_phone_number_id"] is None
    assert created["has_whatsapp_access_token"] is False
    assert created["is_open"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Pizza"}, "body.slug"),
        ({"slug": "pizza place"}, "body.slug"),
        ({"slug": "-pizza"}, "body.slug"),
        ({"slug": "pizza_place"}, "body.slug"),
        ({"slug": "a" * 65}, "body.slug"),
        ({"currency": "brl"}, "body.currency"),
        ({"currency": "BR"}, "body.currency"),
        ({"currency": "REAL"}, "body.currency"),
        ({"time_zone": "Nowhere/City"}, "time_zone"),
        ({"name": ""}, "body.name"),
        ({"minimum_order": -5}, "body.minimum_order"),
        ({"last_order_number": 7}, "body.last_order_number"),
    ],
)
async def test_create_store_rejects_invalid(client, session, body, field):
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.post(
        "/api/v1/stores", json={"slug": "valid-slug", "name": "Valid"} | body, headers=headers
    )

    assert _first_error(response)["field"] == field
    assert await session.scalar(select(Store.id).where(Store.slug == "valid-slug")) is None


async def test_create_store_slug_conflict(client, session):
    existing = await make_store(session)
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.post(
        "/api/v1/stores", json={"slug": existing.slug, "name": "Copy"}, headers=headers
    )

    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "slug"


async def test_create_store_phone_number_id_conflict(client, session):
    existing = await make_store(session)
    headers = await _headers_for(client, session, None, Role.PLATFORM_ADMIN)

    response = await client.post(
        "/api/v1/stores",
        json={
            "slug": "fresh-slug",
            "name": "Fresh",
            "whatsapp_phone_number_id": existing.whatsapp_phone_number_id,
        },
        headers=headers,
    )

    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "whatsapp_phone_number_id"


@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.STORE_STAFF, Role.COURIER])
async def test_create_store_needs_platform_admin(client, session, role):
    headers = await _headers_for(client, session, await make_store(session), role)

    response = await client.post(
        "/api/v1/stores", json={"slug": "mine-now", "name": "Mine"}, headers=headers
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "permission_denied"
