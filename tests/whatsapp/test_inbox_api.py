"""The staff inbox routes: permissions, store scoping, filters and retry rules."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.factories import login, make_store, make_user
from zapora.auth.models import Role
from zapora.db import utcnow
from zapora.whatsapp.models import InboundMessage, InboxStatus


async def _inbound(session, store, status: InboxStatus, *, minutes_ago: int = 0) -> InboundMessage:
    message = InboundMessage(
        store_id=store.id,
        message_id=f"wamid.{uuid.uuid4().hex}",
        wa_id="5511955551234",
        type="text",
        payload={"type": "text", "text": {"body": "Oi"}},
        sent_at=utcnow() - timedelta(minutes=minutes_ago),
        status=status.value,
        attempts=5 if status is InboxStatus.DEAD else 0,
        last_error="RuntimeError: boom" if status is InboxStatus.DEAD else None,
    )
    session.add(message)
    await session.flush()
    return message


@pytest.fixture
async def two_stores(session):
    store_a = await make_store(session)
    store_b = await make_store(session)
    dead_a = await _inbound(session, store_a, InboxStatus.DEAD, minutes_ago=10)
    processed_a = await _inbound(session, store_a, InboxStatus.PROCESSED, minutes_ago=5)
    dead_b = await _inbound(session, store_b, InboxStatus.DEAD)
    manager_a = await make_user(session, store_a)
    await session.commit()
    return store_a, store_b, dead_a, processed_a, dead_b, manager_a


async def test_inbox_lists_newest_first(client, two_stores):
    store_a, _, dead_a, processed_a, _, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.get(f"/api/v1/stores/{store_a.id}/inbox", headers=headers)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [str(processed_a.id), str(dead_a.id)]


async def test_inbox_filters_by_status(client, two_stores):
    store_a, _, dead_a, _, _, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.get(
        f"/api/v1/stores/{store_a.id}/inbox", params={"status": "dead"}, headers=headers
    )

    assert response.status_code == 200
    [item] = response.json()
    assert item["id"] == str(dead_a.id)
    assert item["wa_id"] == "*********1234"
    assert item["last_error"] == "RuntimeError: boom"
    assert item["attempts"] == 5


async def test_inbox_rejects_unknown_status(client, two_stores):
    store_a, *_, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.get(
        f"/api/v1/stores/{store_a.id}/inbox", params={"status": "lost"}, headers=headers
    )

    assert response.status_code == 422


async def test_other_stores_inbox_is_404(client, two_stores):
    _, store_b, _, _, dead_b, manager_a = two_stores
    headers = await login(client, manager_a)

    listed = await client.get(f"/api/v1/stores/{store_b.id}/inbox", headers=headers)
    retried = await client.post(
        f"/api/v1/stores/{store_b.id}/inbox/{dead_b.id}/retry", headers=headers
    )

    assert listed.status_code == 404
    assert retried.status_code == 404
    assert "RuntimeError" not in listed.text


async def test_other_stores_message_via_own_store_is_404(client, session, two_stores):
    store_a, _, _, _, dead_b, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.post(
        f"/api/v1/stores/{store_a.id}/inbox/{dead_b.id}/retry", headers=headers
    )

    assert response.status_code == 404
    await session.refresh(dead_b)
    assert dead_b.status == InboxStatus.DEAD.value


async def test_inbox_needs_permission(client, session, two_stores):
    store_a, *_ = two_stores
    courier = await make_user(session, store_a, Role.COURIER)
    await session.commit()
    headers = await login(client, courier)

    listed = await client.get(f"/api/v1/stores/{store_a.id}/inbox", headers=headers)
    anonymous = await client.get(f"/api/v1/stores/{store_a.id}/inbox")

    assert listed.status_code == 403
    assert anonymous.status_code == 401


async def test_retry_of_processed_message_is_409(client, two_stores):
    store_a, _, _, processed_a, _, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.post(
        f"/api/v1/stores/{store_a.id}/inbox/{processed_a.id}/retry", headers=headers
    )

    assert response.status_code == 409
    assert response.json()["code"] == "inbox_message_not_dead"


async def test_retry_resets_dead_message(client, session, two_stores):
    store_a, _, dead_a, _, _, manager_a = two_stores
    headers = await login(client, manager_a)

    response = await client.post(
        f"/api/v1/stores/{store_a.id}/inbox/{dead_a.id}/retry", headers=headers
    )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["attempts"] == 0
    await session.refresh(dead_a)
    assert dead_a.status == InboxStatus.PENDING.value
    assert dead_a.next_attempt_at <= utcnow()
