"""Idempotency keys on order creation, alone and under concurrent requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import Shop, count_orders, delivery_body, pickup_body
from zapora.app import create_app
from zapora.config import Settings
from zapora.db import utcnow
from zapora.orders.idempotency import purge_expired_keys
from zapora.orders.models import IdempotencyKey, Order


async def _post(
    client: httpx.AsyncClient, shop: Shop, body: dict[str, object], key: str | bytes
) -> httpx.Response:
    # Bytes values let a test send a key that is not printable ASCII.
    headers = [(name.encode(), value.encode()) for name, value in shop.headers.items()]
    headers.append((b"Idempotency-Key", key.encode() if isinstance(key, str) else key))
    return await client.post(shop.orders_url, json=body, headers=headers)


async def _count_keys(session: AsyncSession) -> int:
    await session.commit()
    count = await session.scalar(select(func.count()).select_from(IdempotencyKey))
    await session.commit()
    return int(count or 0)


@pytest.fixture
async def second_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app instance on the same database, like another server process."""
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.engine.dispose()


async def test_same_key_same_body_replays(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    body = delivery_body(shop.menu)

    first = await _post(client, shop, body, "order-1")
    second = await _post(client, shop, body, "order-1")

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["number"] == first.json()["number"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert await count_orders(session) == 1
    assert await _count_keys(session) == 1


async def test_replay_ignores_key_order_and_defaults(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    body = pickup_body(shop.menu)
    reordered = dict(reversed(list(body.items())))
    reordered["notes"] = None

    first = await _post(client, shop, body, "order-2")
    second = await _post(client, shop, reordered, "order-2")

    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await count_orders(session) == 1


async def test_replay_returns_current_state(client: httpx.AsyncClient, shop: Shop) -> None:
    body = pickup_body(shop.menu)
    first = await _post(client, shop, body, "order-3")
    transitions_url = f"{shop.order_url(first.json()['id'])}/transitions"
    await client.post(transitions_url, json={"status": "accepted"}, headers=shop.headers)

    second = await _post(client, shop, body, "order-3")

    assert second.json()["id"] == first.json()["id"]
    assert second.json()["status"] == "accepted"


async def test_same_key_different_body(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    first = await _post(client, shop, pickup_body(shop.menu), "order-4")
    changed = pickup_body(shop.menu, notes="no onions")

    second = await _post(client, shop, changed, "order-4")

    assert first.status_code == 201
    assert second.status_code == 409, second.text
    assert second.json()["code"] == "idempotency_key_reused"
    assert second.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count_orders(session) == 1


async def test_key_is_scoped_to_store(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop, session: AsyncSession
) -> None:
    first = await _post(client, shop, pickup_body(shop.menu), "shared-key")
    second = await _post(client, other_shop, pickup_body(other_shop.menu), "shared-key")

    assert first.status_code == 201
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert await count_orders(session) == 2


async def test_failed_create_stores_no_key(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    sold_out = pickup_body(
        shop.menu, lines=[{"item_id": str(shop.menu.sold_out.id), "quantity": 1}]
    )

    failed = await _post(client, shop, sold_out, "order-5")
    retried = await _post(client, shop, pickup_body(shop.menu), "order-5")

    assert failed.status_code == 409
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert await count_orders(session) == 1


async def test_invalid_key_rejected(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    for key in [b"", b"k" * 256, "clé".encode(), b"tab\there", b"nul\x01"]:
        response = await _post(client, shop, pickup_body(shop.menu), key)
        assert response.status_code == 422, (key, response.text)
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    longest = await _post(client, shop, pickup_body(shop.menu), "k" * 255)
    assert longest.status_code == 201, longest.text
    assert await count_orders(session) == 1


async def test_expired_key_can_be_reused(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession, settings: Settings
) -> None:
    first = await _post(client, shop, pickup_body(shop.menu), "order-6")
    expired_at = utcnow() - timedelta(hours=settings.idempotency_key_hours, minutes=1)
    await session.execute(update(IdempotencyKey).values(created_at=expired_at))
    await session.commit()

    second = await _post(client, shop, pickup_body(shop.menu, notes="again"), "order-6")

    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in second.headers
    assert await count_orders(session) == 2
    assert await _count_keys(session) == 1


async def test_purge_expired_keys(
    client: httpx.AsyncClient, shop: Shop, session: AsyncSession
) -> None:
    old = await _post(client, shop, pickup_body(shop.menu), "old")
    await _post(client, shop, pickup_body(shop.menu), "new")
    now = utcnow()
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "old")
        .values(created_at=now - timedelta(hours=25))
    )

    purged = await purge_expired_keys(session, now, max_age=timedelta(hours=24))
    await session.commit()

    assert purged == 1
    assert await _count_keys(session) == 1
    remaining = await session.scalar(select(IdempotencyKey.key))
    assert remaining == "new"
    assert await session.get(Order, uuid.UUID(old.json()["id"])) is not None


async def test_concurrent_same_key_makes_one_order(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    shop: Shop,
    session: AsyncSession,
) -> None:
    body = delivery_body(shop.menu)
    clients = [client, second_client] * 4

    responses = await asyncio.gather(
        *(_post(http, shop, body, "concurrent-key") for http in clients)
    )

    assert [response.status_code for response in responses] == [201] * len(clients), [
        response.text for response in responses
    ]
    assert len({response.json()["id"] for response in responses}) == 1
    fresh = [r for r in responses if "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    assert await count_orders(session) == 1
    assert await _count_keys(session) == 1
    await session.commit()
    number = await session.scalar(select(Order.number))
    assert number == 1


async def test_concurrent_orders_get_sequential_numbers(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    shop: Shop,
    session: AsyncSession,
) -> None:
    clients = [client, second_client] * 4

    responses = await asyncio.gather(
        *(
            http.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
            for http in clients
        )
    )

    assert [response.status_code for response in responses] == [201] * len(clients)
    numbers = sorted(response.json()["number"] for response in responses)
    assert numbers == list(range(1, len(clients) + 1))
    assert await count_orders(session) == len(clients)
