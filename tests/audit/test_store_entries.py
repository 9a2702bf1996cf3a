"""Store creation and settings changes are audited, and the access token never is."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.audit.conftest import Shop, assert_staff_entry, audit_entries, only_entry
from tests.factories import make_store
from zapora.audit.models import AuditEntry
from zapora.audit.service import REDACTED
from zapora.auth.models import Role

FIRST_TOKEN = "EAAG-first-access-token-value"
SECOND_TOKEN = "EAAG-second-access-token-value"


async def _assert_no_token_anywhere(
    factory: async_sessionmaker[AsyncSession], *tokens: str
) -> None:
    for entry in await audit_entries(factory):
        stored = json.dumps([entry.before, entry.after, entry.target_id, entry.action])
        for token in tokens:
            assert token not in stored, entry.action


async def test_store_creation_recorded(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    body = {
        "slug": "pizzaria-audit",
        "name": "Pizzaria Audit",
        "whatsapp_phone_number_id": "pn-audit",
        "whatsapp_access_token": FIRST_TOKEN,
        "delivery_fee": 700,
    }

    response = await client.post("/api/v1/stores", json=body, headers=admin_headers)

    assert response.status_code == 201, response.text
    store_id = response.json()["id"]
    entry = await only_entry(session_factory)
    assert entry.action == "store.created"
    assert entry.actor_type == "staff"
    assert entry.actor_role == Role.PLATFORM_ADMIN.value
    assert str(entry.store_id) == store_id
    assert entry.target_type == "store"
    assert entry.target_id == store_id
    assert entry.before is None
    assert entry.after == {
        "slug": "pizzaria-audit",
        "name": "Pizzaria Audit",
        "time_zone": "America/Sao_Paulo",
        "currency": "BRL",
        "language": "pt-BR",
        "whatsapp_phone_number_id": "pn-audit",
        "whatsapp_access_token": REDACTED,
        "delivery_fee": 700,
        "minimum_order": 0,
        "is_open": True,
    }
    await _assert_no_token_anywhere(session_factory, FIRST_TOKEN)


async def test_store_update_records_changed_fields(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    body = {"name": "Renamed", "delivery_fee": shop.store.delivery_fee, "is_open": False}

    response = await client.patch(shop.base, json=body, headers=shop.headers)

    assert response.status_code == 200, response.text
    entry = await only_entry(session_factory)
    assert_staff_entry(entry, shop, "store.updated", "store")
    assert entry.target_id == str(shop.store.id)
    assert entry.before == {"name": shop.store.name, "is_open": True}
    assert entry.after == {"name": "Renamed", "is_open": False}


async def test_access_token_changes_redacted(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    changes = [
        ({"whatsapp_access_token": FIRST_TOKEN}, None, REDACTED),
        ({"whatsapp_access_token": SECOND_TOKEN}, REDACTED, REDACTED),
        ({"whatsapp_access_token": None}, REDACTED, None),
    ]
    for body, _, _ in changes:
        response = await client.patch(shop.base, json=body, headers=shop.headers)
        assert response.status_code == 200, response.text
        assert FIRST_TOKEN not in response.text
        assert SECOND_TOKEN not in response.text

    entries = await audit_entries(session_factory, AuditEntry.action == "store.updated")
    assert len(entries) == len(changes)
    for entry, (_, before, after) in zip(entries, changes, strict=True):
        assert entry.before == {"whatsapp_access_token": before}
        assert entry.after == {"whatsapp_access_token": after}
    await _assert_no_token_anywhere(session_factory, FIRST_TOKEN, SECOND_TOKEN)

    listed = await client.get(shop.audit_url, headers=shop.headers)
    assert listed.status_code == 200
    assert FIRST_TOKEN not in listed.text
    assert SECOND_TOKEN not in listed.text


async def test_same_token_again_not_recorded_as_change(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    shop.store.whatsapp_access_token = FIRST_TOKEN
    session.add(shop.store)
    await session.commit()

    response = await client.patch(
        shop.base, json={"whatsapp_access_token": FIRST_TOKEN, "name": "New"}, headers=shop.headers
    )

    assert response.status_code == 200, response.text
    entry = await only_entry(session_factory)
    assert entry.before == {"name": shop.store.name}
    assert entry.after == {"name": "New"}


async def test_rejected_store_writes_leave_no_entry(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    admin_headers: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    other_store = await make_store(session)
    await session.commit()
    rejected = [
        ("POST", "/api/v1/stores", admin_headers, {"slug": other_store.slug, "name": "Copy"}, 409),
        (
            "POST",
            "/api/v1/stores",
            admin_headers,
            {"slug": "tz", "name": "T", "time_zone": "Mars/Base"},
            422,
        ),
        (
            "PATCH",
            shop.base,
            admin_headers,
            {"whatsapp_phone_number_id": other_store.whatsapp_phone_number_id},
            409,
        ),
        (
            "PATCH",
            shop.base,
            shop.headers,
            {"whatsapp_phone_number_id": "claimed-by-manager"},
            403,
        ),
        ("PATCH", shop.base, shop.headers, {"time_zone": "Nowhere/Else"}, 422),
        ("PATCH", f"/api/v1/stores/{other_store.id}", shop.headers, {"name": "Mine"}, 404),
        ("POST", "/api/v1/stores", shop.headers, {"slug": "by-manager", "name": "No"}, 403),
    ]
    for method, url, headers, body, expected in rejected:
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == expected, (method, url, response.text)

    assert await audit_entries(session_factory) == []
