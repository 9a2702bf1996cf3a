"""Business counters: webhook events, WhatsApp sends, orders placed and order transitions."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.factories import make_store
from tests.graph_api import GraphApiStandIn
from tests.observability.conftest import counter
from tests.orders.builders import make_shop, pickup_body
from tests.whatsapp.payloads import envelope, post_webhook, status_event, text_message
from zapora.config import Settings, WhatsAppTransport
from zapora.observability.commit_metrics import increment_on_commit
from zapora.outbox.sender import send_due
from zapora.outbox.service import enqueue
from zapora.outbox.transports import CloudTransport, LogTransport

SENDS = "zapora_whatsapp_sends_total"
EVENTS = "zapora_whatsapp_webhook_events_total"


async def test_webhook_events_counted_by_kind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    await session.commit()
    text_before = await counter(client, EVENTS, kind="message.text")
    status_before = await counter(client, EVENTS, kind="status.delivered")
    other_before = await counter(client, EVENTS, kind="message.other")

    payload = envelope(
        store.whatsapp_phone_number_id,
        messages=[text_message("oi"), text_message("cardápio"), text_message("x")],
        statuses=[status_event("wamid.unknown", "delivered")],
    )
    payload["entry"][0]["changes"][0]["value"]["messages"][2]["type"] = "brand_new_type"
    response = await post_webhook(client, payload)
    assert response.status_code == 200, response.text

    assert await counter(client, EVENTS, kind="message.text") == text_before + 2
    assert await counter(client, EVENTS, kind="status.delivered") == status_before + 1
    assert await counter(client, EVENTS, kind="message.other") == other_before + 1


async def test_sends_counted_by_result(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token="store-access-token-0001")
    await enqueue(session, store_id=store.id, to="5511955551234", body={"type": "text"})
    await session.commit()
    factory = app.state.session_factory
    sent_before = await counter(client, SENDS, result="sent", error_code="none")
    retry_before = await counter(client, SENDS, result="retry", error_code="130429")
    failed_before = await counter(client, SENDS, result="failed", error_code="131026")

    cloud_settings = make_settings(
        settings.database_url,
        whatsapp_transport=WhatsAppTransport.CLOUD,
        whatsapp_api_base_url=graph_api.url,
        outbox_backoff_base_seconds=0.001,
        outbox_backoff_max_seconds=0.001,
    )
    transport = CloudTransport(cloud_settings)
    try:
        graph_api.queue_error(130429, status=429)
        assert await send_due(cloud_settings, factory, transport=transport) == 1
        assert await counter(client, SENDS, result="retry", error_code="130429") == retry_before + 1

        await enqueue(session, store_id=store.id, to="5511955550002", body={"type": "text"})
        await session.commit()
        graph_api.queue_error(131026)
        handled = 0
        for _ in range(50):
            handled += await send_due(cloud_settings, factory, transport=transport)
            if handled >= 2:
                break
        assert handled == 2
    finally:
        await transport.aclose()

    assert await counter(client, SENDS, result="failed", error_code="131026") == failed_before + 1
    assert await counter(client, SENDS, result="sent", error_code="none") == sent_before + 1


async def test_log_transport_send_counted(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    store = await make_store(session)
    await enqueue(session, store_id=store.id, to="5511955551234", body={"type": "text"})
    await session.commit()
    before = await counter(client, SENDS, result="sent", error_code="none")

    sent = await send_due(settings, app.state.session_factory, transport=LogTransport())

    assert sent == 1
    assert await counter(client, SENDS, result="sent", error_code="none") == before + 1


async def test_orders_and_transitions_counted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    shop = await make_shop(session, client)
    placed_before = await counter(client, "zapora_orders_placed_total", source="staff")
    accepted_before = await counter(client, "zapora_order_transitions_total", status="accepted")

    created = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    assert created.status_code == 201, created.text
    moved = await client.post(
        f"{shop.order_url(created.json()['id'])}/transitions",
        json={"status": "accepted"},
        headers=shop.headers,
    )
    assert moved.status_code == 200, moved.text

    assert await counter(client, "zapora_orders_placed_total", source="staff") == placed_before + 1
    accepted = await counter(client, "zapora_order_transitions_total", status="accepted")
    assert accepted == accepted_before + 1


async def test_rejected_order_not_counted(client: httpx.AsyncClient, session: AsyncSession) -> None:
    shop = await make_shop(session, client, is_open=False)
    before = await counter(client, "zapora_orders_placed_total", source="staff")

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 409, response.text
    assert await counter(client, "zapora_orders_placed_total", source="staff") == before


class Probe:
    """A counter in a registry of its own, so each test starts from zero."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.counter = Counter("probe_events", "Events.", ["kind"], registry=self.registry)

    def value(self, kind: str) -> float:
        return self.registry.get_sample_value("probe_events_total", {"kind": kind}) or 0.0


@pytest.fixture
def probe() -> Probe:
    return Probe()


async def test_increment_waits_for_commit(app: FastAPI, probe: Probe) -> None:
    async with app.state.session_factory() as session:
        await session.begin()
        increment_on_commit(session, probe.counter, kind="a")
        assert probe.value("a") == 0
        await session.commit()
    assert probe.value("a") == 1


async def test_increment_dropped_on_rollback(app: FastAPI, probe: Probe) -> None:
    async with app.state.session_factory() as session:
        await session.begin()
        increment_on_commit(session, probe.counter, kind="a")
        await session.rollback()
        await session.begin()
        await session.commit()
    assert probe.value("a") == 0


async def test_savepoint_rollback_drops_only_inner(app: FastAPI, probe: Probe) -> None:
    async with app.state.session_factory() as session:
        await session.begin()
        increment_on_commit(session, probe.counter, kind="outer")
        savepoint = await session.begin_nested()
        increment_on_commit(session, probe.counter, kind="rolled_back")
        await savepoint.rollback()
        async with session.begin_nested():
            increment_on_commit(session, probe.counter, kind="released")
        assert probe.value("released") == 0
        await session.commit()
    assert probe.value("outer") == 1
    assert probe.value("released") == 1
    assert probe.value("rolled_back") == 0


async def test_increment_without_transaction_is_immediate(app: FastAPI, probe: Probe) -> None:
    async with app.state.session_factory() as session:
        increment_on_commit(session, probe.counter, kind="a")
    assert probe.value("a") == 1
