"""Reading the log: store scoping, roles, filters, pages, and no way to change it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.audit.conftest import Shop, only_entry
from tests.factories import login, make_user
from zapora.audit.models import AuditEntry
from zapora.auth.models import Role

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _entry(shop: Shop, index: int, **values: Any) -> AuditEntry:
    """Build an entry of ``shop``. Every three entries share a time, so the id must break ties."""
    fields: dict[str, Any] = {
        "store_id": shop.store.id,
        "created_at": START + timedelta(seconds=index // 3),
        "actor_type": "staff",
        "actor_id": shop.manager.id,
        "actor_role": shop.manager.role,
        "action": "catalog.item.updated",
        "target_type": "item",
        "target_id": str(shop.menu.pizza.id),
        "after": {"price": 3000 + index},
    }
    fields.update(values)
    return AuditEntry(**fields)


async def _seed(session: AsyncSession, entries: list[AuditEntry]) -> list[AuditEntry]:
    session.add_all(entries)
    await session.commit()
    return entries


async def _list(client: httpx.AsyncClient, shop: Shop, **params: str | int) -> list[dict[str, Any]]:
    """Return every entry of one page, without the auth events of logging in."""
    response = await client.get(shop.audit_url, params=params, headers=shop.headers)
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if not item["action"].startswith("auth.")]


async def _all_pages(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: str | int
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, str | int] = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10, "pagination does not end"


async def test_entry_carries_request_id_and_ip(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**shop.headers, "X-Request-ID": "test-req-1"}

    response = await client.post(
        f"{shop.base}/categories", json={"name": "Drinks"}, headers=headers
    )

    assert response.status_code == 201, response.text
    entry = await only_entry(session_factory)
    assert entry.request_id == "test-req-1"
    # httpx's ASGI transport reports this client address.
    assert entry.ip == "127.0.0.1"
    [listed] = await _list(client, shop, action="catalog.category.created")
    assert listed["request_id"] == "test-req-1"
    assert listed["ip"] == "127.0.0.1"
    assert listed["actor_id"] == str(shop.manager.id)
    assert listed["after"] == {"name": "Drinks", "position": 0}


async def test_manager_sees_only_own_store(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, other_shop: Shop
) -> None:
    own = await _seed(session, [_entry(shop, index) for index in range(3)])
    await _seed(session, [_entry(other_shop, index) for index in range(4)])

    listed = await _list(client, shop)
    foreign = await client.get(other_shop.audit_url, headers=shop.headers)

    assert sorted(item["id"] for item in listed) == sorted(str(entry.id) for entry in own)
    assert {item["store_id"] for item in listed} == {str(shop.store.id)}
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    missing = await client.get(f"/api/v1/stores/{uuid.uuid4()}/audit", headers=shop.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.COURIER])
async def test_roles_without_audit_read_get_403(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, role: Role
) -> None:
    user = await make_user(session, shop.store, role)
    await session.commit()
    headers = await login(client, user)

    store_log = await client.get(shop.audit_url, headers=headers)
    platform_log = await client.get("/api/v1/audit", headers=headers)

    assert store_log.status_code == 403
    assert platform_log.status_code == 403


async def test_anonymous_caller_gets_401(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get(shop.audit_url)

    assert response.status_code == 401


async def test_manager_cannot_read_platform_log(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get("/api/v1/audit", headers=shop.headers)

    assert response.status_code == 403


async def test_admin_reads_every_store(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    other_shop: Shop,
    admin_headers: dict[str, str],
) -> None:
    own = await _seed(session, [_entry(shop, index) for index in range(2)])
    other = await _seed(session, [_entry(other_shop, index) for index in range(3)])
    seeded = {str(entry.id) for entry in own + other}

    everything = await client.get(
        "/api/v1/audit", params={"action": "catalog."}, headers=admin_headers
    )
    one_store = await client.get(
        "/api/v1/audit", params={"store_id": str(other_shop.store.id)}, headers=admin_headers
    )
    store_route = await client.get(shop.audit_url, headers=admin_headers)

    assert everything.status_code == 200, everything.text
    assert {item["id"] for item in everything.json()["items"]} == seeded
    assert one_store.status_code == 200, one_store.text
    assert {item["store_id"] for item in one_store.json()["items"]} == {str(other_shop.store.id)}
    assert {item["id"] for item in one_store.json()["items"]} >= {str(e.id) for e in other}
    assert store_route.status_code == 200
    assert {item["id"] for item in store_route.json()["items"]} >= {str(e.id) for e in own}


async def test_filters(client: httpx.AsyncClient, session: AsyncSession, shop: Shop) -> None:
    clerk_id = uuid.uuid4()
    order_id = str(uuid.uuid4())
    entries = await _seed(
        session,
        [
            _entry(shop, 0, action="catalog.item.created"),
            _entry(shop, 3, action="catalog.category.deleted", target_type="category"),
            _entry(shop, 6, action="catalog_export.started"),
            _entry(
                shop,
                9,
                action="order.transitioned",
                target_type="order",
                target_id=order_id,
                actor_id=clerk_id,
            ),
            _entry(shop, 12, action="store.updated", target_type="store"),
        ],
    )
    ids = [str(entry.id) for entry in entries]
    cases: list[tuple[dict[str, str | int], list[str]]] = [
        ({"action": "catalog.item.created"}, [ids[0]]),
        # A prefix ends in a dot, so it does not match catalog_export.
        ({"action": "catalog."}, [ids[1], ids[0]]),
        ({"action": "catalog"}, []),
        ({"action": "order.transitioned"}, [ids[3]]),
        ({"actor_id": str(clerk_id)}, [ids[3]]),
        ({"target_type": "order", "target_id": order_id}, [ids[3]]),
        ({"target_type": "category"}, [ids[1]]),
        ({"since": (START + timedelta(seconds=2)).isoformat()}, [ids[4], ids[3], ids[2]]),
        ({"until": (START + timedelta(seconds=2)).isoformat()}, [ids[1], ids[0]]),
        (
            {
                "since": (START + timedelta(seconds=1)).isoformat(),
                "until": "2026-03-01T09:00:03.123456-03:00",
            },
            [ids[2], ids[1]],
        ),
        ({"action": "catalog.", "since": (START + timedelta(seconds=1)).isoformat()}, [ids[1]]),
    ]
    for params, expected in cases:
        listed = await _list(client, shop, **params)
        assert [item["id"] for item in listed] == expected, params


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-01T12:00:00"}, "since"),
        ({"until": "2026-03-01T12:00:00"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"since": "2026-03-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJ4IjoxfQ"}, "cursor"),
        ({"actor_id": "someone"}, "actor_id"),
        ({"action": "order\x00placed"}, "action"),
        ({"target_id": "a b"}, "target_id"),
        ({"actor": "x"}, "actor"),
    ],
)
async def test_invalid_query_is_422(
    client: httpx.AsyncClient, shop: Shop, params: dict[str, str | int], field: str
) -> None:
    response = await client.get(shop.audit_url, params=params, headers=shop.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["errors"][0]["field"]


async def test_pages_newest_first(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    entries = await _seed(session, [_entry(shop, index) for index in range(25)])
    expected = [
        str(entry.id)
        for entry in sorted(entries, key=lambda entry: (entry.created_at, entry.id), reverse=True)
    ]

    pages = await _all_pages(
        client, shop.audit_url, shop.headers, action="catalog.item.updated", limit=10
    )

    assert [len(page) for page in pages] == [10, 10, 5]
    listed = [entry_id for page in pages for entry_id in page]
    assert listed == expected


async def test_page_of_exact_size_ends(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    await _seed(session, [_entry(shop, index) for index in range(6)])

    pages = await _all_pages(
        client, shop.audit_url, shop.headers, action="catalog.item.updated", limit=6
    )

    assert [len(page) for page in pages] == [6]


def _audit_operations(app: FastAPI) -> dict[str, set[str]]:
    """Map each served path with an ``audit`` segment to its HTTP methods.

    The OpenAPI document lists the routes with their include prefixes resolved, which
    ``app.routes`` no longer does for included routers.
    """
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {
        path: {method.upper() for method in operations}
        for path, operations in paths.items()
        if "audit" in path.split("/")
    }


def test_audit_routes_only_read(app: FastAPI) -> None:
    assert _audit_operations(app) == {
        "/api/v1/stores/{store_id}/audit": {"GET"},
        "/api/v1/audit": {"GET"},
    }


async def test_no_method_changes_the_log(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: Shop,
    admin_headers: dict[str, str],
) -> None:
    [entry] = await _seed(session, [_entry(shop, 0)])
    urls = [
        shop.audit_url,
        "/api/v1/audit",
        f"{shop.audit_url}/{entry.id}",
        f"/api/v1/audit/{entry.id}",
    ]
    for url in urls[:2]:
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            response = await client.request(method, url, json={}, headers=admin_headers)
            assert response.status_code == 405, (method, url)
    for url in urls[2:]:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(method, url, json={}, headers=admin_headers)
            assert response.status_code in (404, 405), (method, url)

    [listed] = await _list(client, shop, action="catalog.item.updated")
    assert listed["id"] == str(entry.id)
    assert listed["after"] == {"price": 3000}
