"""Sending through the Cloud API stand-in: the request, the recorded result and every error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_store
from tests.graph_api import GraphApiStandIn
from tests.outbox.conftest import ACCESS_TOKEN, CUSTOMER, load, make_due, queue_message
from zapora.config import Settings
from zapora.db import utcnow
from zapora.outbox.models import OutboxStatus
from zapora.outbox.sender import send_due
from zapora.outbox.transports import CloudTransport

INTERACTIVE_BODY = {
    "type": "interactive",
    "interactive": {
        "type": "button",
        "body": {"text": "Confirmar pedido?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "confirm", "title": "Confirmar"}},
                {"type": "reply", "reply": {"id": "cancel", "title": "Cancelar"}},
            ]
        },
    },
}


async def test_send_posts_graph_request(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    # A number without the ninth digit must go out exactly as stored.
    message = await queue_message(
        session, store, to="551155551234", body=INTERACTIVE_BODY, request_id="req-42"
    )

    handled = await send_due(settings, session_factory, transport=transport)

    assert handled == 1
    assert len(graph_api.requests) == 1
    request = graph_api.requests[0]
    assert request.method == "POST"
    assert request.path == f"/v23.0/{store.whatsapp_phone_number_id}/messages"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["x-request-id"] == "req-42"
    assert request.json == {
        **INTERACTIVE_BODY,
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "551155551234",
        "biz_opaque_callback_data": str(message.id),
    }
    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.graph_message_id == request.wamid
    assert sent.attempts == 1
    assert sent.sent_at is not None
    assert sent.locked_until is None
    assert sent.error_code is None


async def test_send_without_request_id_omits_header(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    await queue_message(session, store)

    await send_due(settings, session_factory, transport=transport)

    assert len(graph_api.requests) == 1
    assert "x-request-id" not in graph_api.requests[0].headers


async def test_sent_row_is_not_sent_again(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    await queue_message(session, store)

    assert await send_due(settings, session_factory, transport=transport) == 1
    assert await send_due(settings, session_factory, transport=transport) == 0

    assert len(graph_api.requests) == 1


# Throughput limit of the number, and pair rate limit to one customer.
@pytest.mark.parametrize("code", [130429, 131056])
async def test_rate_limit_then_success_retries(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
    code: int,
) -> None:
    slow_backoff = settings.model_copy(
        update={"outbox_backoff_base_seconds": 30.0, "outbox_backoff_max_seconds": 300.0}
    )
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_error(code, message="Rate limit hit")
    before = utcnow()

    assert await send_due(slow_backoff, session_factory, transport=transport) == 1

    waiting = await load(session_factory, message.id)
    assert waiting.status == OutboxStatus.PENDING.value
    assert waiting.attempts == 1
    assert waiting.error_code == code
    assert waiting.error_message is not None
    assert "Rate limit hit" in waiting.error_message
    assert waiting.locked_until is None
    # The first retry waits between half and all of the 30 s base delay.
    assert waiting.next_attempt_at >= before + timedelta(seconds=15)
    assert waiting.next_attempt_at <= utcnow() + timedelta(seconds=30)
    assert await send_due(slow_backoff, session_factory, transport=transport) == 0
    assert len(graph_api.requests) == 1

    await make_due(session_factory, message.id)
    assert await send_due(slow_backoff, session_factory, transport=transport) == 1

    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.attempts == 2
    assert sent.error_code is None
    assert sent.graph_message_id == graph_api.requests[-1].wamid
    assert len(graph_api.requests) == 2


async def test_retryable_errors_fail_at_max_attempts(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    for code in (131000, 1, 2):
        graph_api.queue_error(code)

    for attempt in range(1, settings.outbox_max_attempts + 1):
        assert await send_due(settings, session_factory, transport=transport) == 1
        row = await load(session_factory, message.id)
        assert row.attempts == attempt
        await make_due(session_factory, message.id)

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == 2
    assert len(graph_api.requests) == settings.outbox_max_attempts
    assert await send_due(settings, session_factory, transport=transport) == 0
    assert len(graph_api.requests) == settings.outbox_max_attempts


@pytest.mark.parametrize(
    ("code", "status"),
    [(131026, 400), (131051, 400), (132000, 400), (132001, 404), (190, 401)],
)
async def test_terminal_error_fails_after_one_call(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
    code: int,
    status: int,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_error(code, status=status, message="Message undeliverable", details="gone")

    assert await send_due(settings, session_factory, transport=transport) == 1
    await make_due(session_factory, message.id)
    assert await send_due(settings, session_factory, transport=transport) == 0

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == code
    assert failed.error_message == f"Graph API returned HTTP {status}: Message undeliverable (gone)"
    assert failed.attempts == 1
    assert failed.graph_message_id is None
    assert len(graph_api.requests) == 1


async def test_unknown_client_error_fails(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_error(100, message="Invalid parameter")

    await send_due(settings, session_factory, transport=transport)

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_code == 100


@pytest.mark.parametrize("body", [None, {"error": {"message": "Internal"}}])
async def test_server_error_is_retried(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
    body: object,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_reply(500, body)

    await send_due(settings, session_factory, transport=transport)

    waiting = await load(session_factory, message.id)
    assert waiting.status == OutboxStatus.PENDING.value
    assert waiting.attempts == 1
    assert waiting.error_code is None
    assert waiting.error_message is not None
    assert waiting.error_message.startswith("Graph API returned HTTP 500")

    await make_due(session_factory, message.id)
    await send_due(settings, session_factory, transport=transport)

    sent = await load(session_factory, message.id)
    assert sent.status == OutboxStatus.SENT.value
    assert sent.attempts == 2


async def test_timeout_is_retried(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    graph_api: GraphApiStandIn,
) -> None:
    quick = settings.model_copy(update={"whatsapp_timeout_seconds": 0.2})
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_delay(1.5)
    transport = CloudTransport(quick)
    try:
        await send_due(quick, session_factory, transport=transport)
    finally:
        await transport.aclose()

    waiting = await load(session_factory, message.id)
    assert waiting.status == OutboxStatus.PENDING.value
    assert waiting.attempts == 1
    assert waiting.error_message == "Graph API request timed out after 0.2 s"
    assert waiting.locked_until is None


async def test_refused_connection_is_retried(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.stop()

    assert await send_due(settings, session_factory, transport=transport) == 1

    waiting = await load(session_factory, message.id)
    assert waiting.status == OutboxStatus.PENDING.value
    assert waiting.attempts == 1
    assert waiting.error_message is not None
    assert waiting.error_message.startswith("Graph API connection failed: ConnectError")


async def test_success_without_message_id_fails(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
) -> None:
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    graph_api.queue_reply(200, {"messaging_product": "whatsapp", "messages": []})

    await send_due(settings, session_factory, transport=transport)

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_message == "Graph API returned HTTP 200 without messages[0].id"


@pytest.mark.parametrize(
    "credentials",
    [
        {"whatsapp_access_token": None},
        {"whatsapp_access_token": ACCESS_TOKEN, "whatsapp_phone_number_id": None},
    ],
)
async def test_store_without_credentials_fails(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: CloudTransport,
    graph_api: GraphApiStandIn,
    credentials: dict[str, object],
) -> None:
    store = await make_store(session, **credentials)
    message = await queue_message(session, store, to=CUSTOMER)

    assert await send_due(settings, session_factory, transport=transport) == 1

    failed = await load(session_factory, message.id)
    assert failed.status == OutboxStatus.FAILED.value
    assert failed.error_message is not None
    assert "no WhatsApp phone number id or access token" in failed.error_message
    assert graph_api.requests == []
