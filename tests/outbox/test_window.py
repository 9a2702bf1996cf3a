"""The 24-hour customer-service window: free text inside, the store's template outside."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_store
from tests.graph_api import GraphApiStandIn
from tests.outbox.conftest import ACCESS_TOKEN, CUSTOMER, TEXT_BODY, load
from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.sender import send_due
from zapora.outbox.service import enqueue
from zapora.outbox.transports import CloudTransport
from zapora.stores.models import Store

TEMPLATE_BODY: dict[str, Any] = {
    "type": "template",
    "template": {
        "name": "order_update",
        "language": {"code": "pt_BR"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "7"}]}],
    },
}


async def _queue(
    session: AsyncSession,
    *,
    hours_since_last_message: float | None,
    template: dict[str, Any] | None = TEMPLATE_BODY,
) -> tuple[Store, OutboxMessage]:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    last = (
        None
        if hours_since_last_message is None
        else utcnow() - timedelta(hours=hours_since_last_message)
    )
    customer = Customer(store_id=store.id, wa_id=CUSTOMER, last_message_at=last)
    session.add(customer)
    await session.flush()
    message = await enqueue(
        session,
        store_id=store.id,
        to=CUSTOMER,
        body=TEXT_BODY,
        customer_id=customer.id,
        kind="status",
        template_body=template,
    )
    await session.commit()
    return store, message


def _sent_types(graph_api: GraphApiStandIn) -> list[str]:
    return [request.json["type"] for request in graph_api.requests]


async def test_inside_window_sends_text(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    _, message = await _queue(session, hours_since_last_message=23.5)

    assert await send_due(settings, session_factory, transport=transport) == 1

    assert _sent_types(graph_api) == ["text"]
    assert graph_api.requests[0].json["text"] == TEXT_BODY["text"]
    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.body == TEXT_BODY


async def test_outside_window_sends_template(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    _, message = await _queue(session, hours_since_last_message=24.5)

    assert await send_due(settings, session_factory, transport=transport) == 1

    assert _sent_types(graph_api) == ["template"]
    request = graph_api.requests[0].json
    assert request["template"] == TEMPLATE_BODY["template"]
    assert request["biz_opaque_callback_data"] == str(message.id)
    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.graph_message_id == graph_api.requests[0].wamid


async def test_outside_window_without_template_fails_for_staff(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    _, message = await _queue(session, hours_since_last_message=30, template=None)

    assert await send_due(settings, session_factory, transport=transport) == 0

    assert graph_api.requests == []
    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == 131047
    assert failed.error_message is not None
    assert "24-hour window is closed" in failed.error_message
    assert "update_template_name" in failed.error_message
    assert failed.locked_until is None
    assert await send_due(settings, session_factory, transport=transport) == 0


async def test_refused_for_window_falls_back_to_template(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    # No recorded message: the sender tries the text and the Graph API refuses it.
    _, message = await _queue(session, hours_since_last_message=None)
    graph_api.close_window(CUSTOMER)

    assert await send_due(settings, session_factory, transport=transport) == 1

    waiting = await load(session_factory, message.id)
    assert waiting.status == OutboxStatus.PENDING.value
    assert waiting.error_code == 131047
    assert waiting.body == TEMPLATE_BODY
    assert waiting.attempts == 1

    # The window opening again does not turn the row back into text.
    graph_api.open_window(CUSTOMER)
    assert await send_due(settings, session_factory, transport=transport) == 1

    assert _sent_types(graph_api) == ["text", "template"]
    assert graph_api.requests[0].wamid is None
    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.attempts == 2
    assert sent.graph_message_id == graph_api.requests[1].wamid
    assert graph_api.callback_data() == [str(message.id)]


async def test_refused_for_window_without_template_fails(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    _, message = await _queue(session, hours_since_last_message=1, template=None)
    graph_api.close_window(CUSTOMER)

    assert await send_due(settings, session_factory, transport=transport) == 1
    assert await send_due(settings, session_factory, transport=transport) == 0

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == 131047
    assert failed.error_message is not None
    assert failed.error_message.startswith("Graph API returned HTTP 400: Re-engagement message")
    assert "update_template_name" in failed.error_message
    assert len(graph_api.requests) == 1


async def test_template_refused_terminally_is_visible(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    _, message = await _queue(session, hours_since_last_message=48)
    graph_api.queue_error(132001, status=404, message="Template name does not exist")

    assert await send_due(settings, session_factory, transport=transport) == 1

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == 132001
    assert failed.error_message is not None
    assert "Template name does not exist" in failed.error_message
    assert _sent_types(graph_api) == ["template"]


async def test_status_update_waits_for_merge_time(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    holding = settings.model_copy(update={"notification_merge_seconds": 600.0})
    _, message = await _queue(session, hours_since_last_message=1)

    assert await send_due(holding, session_factory, transport=transport) == 0
    assert graph_api.requests == []
    assert await send_due(settings, session_factory, transport=transport) == 1

    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
