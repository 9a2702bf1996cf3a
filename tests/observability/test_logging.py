"""Structured logs: masked secrets and phone numbers, and the request id from edge to send."""

from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_menu, make_store
from tests.observability.conftest import LogCapture
from tests.whatsapp.payloads import WEBHOOK_PATH, dumps, envelope, sign, text_message
from zapora.config import Settings
from zapora.observability.logging import REDACTED, mask_sensitive_values
from zapora.outbox.models import OutboxMessage
from zapora.outbox.sender import send_due
from zapora.outbox.transports import LogTransport

PHONE = "5511955551234"


def test_masking_processor_rules() -> None:
    event = {
        "event": "test.masking",
        "wa_id": PHONE,
        "to": PHONE,
        "phone": 5511955551234,
        "token": "abc123",
        "access_token": "EAAB-secret-value",
        "password": "hunter2hunter2",
        "Authorization": "Bearer eyJhbGciOi",
        "app_secret": "s3cr3t",
        "store_id": "c0ffee",
        "to_status": "accepted",
        "nested": {"customer_phone": PHONE, "refresh_token": "r-1", "count": 3},
        "recipients": [{"wa_id": PHONE}],
        "missing_phone": None,
        "wa_id_none": None,
    }

    masked = mask_sensitive_values(None, "info", dict(event))

    assert masked["event"] == "test.masking"
    assert masked["wa_id"] == "*********1234"
    assert masked["to"] == "*********1234"
    assert masked["phone"] == "*********1234"
    assert masked["token"] == REDACTED
    assert masked["access_token"] == REDACTED
    assert masked["password"] == REDACTED
    assert masked["Authorization"] == REDACTED
    assert masked["app_secret"] == REDACTED
    assert masked["store_id"] == "c0ffee"
    assert masked["to_status"] == "accepted"
    assert masked["nested"] == {
        "customer_phone": "*********1234",
        "refresh_token": REDACTED,
        "count": 3,
    }
    assert masked["recipients"] == [{"wa_id": "*********1234"}]
    assert masked["missing_phone"] is None


def test_masked_in_rendered_output(log_capture: LogCapture) -> None:
    logger = structlog.get_logger("tests.masking")

    logger.info(
        "test.rendered",
        wa_id=PHONE,
        authorization="Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
        whatsapp_access_token="EAAB-store-token",
        details={"secret": "webhook-secret"},
    )

    raw = "\n".join(log_capture.lines)
    assert PHONE not in raw
    assert "eyJhbGciOiJIUzI1NiJ9" not in raw
    assert "EAAB-store-token" not in raw
    assert "webhook-secret" not in raw
    [line] = log_capture.events("test.rendered")
    assert line["wa_id"] == "*********1234"
    assert line["authorization"] == REDACTED
    assert line["whatsapp_access_token"] == REDACTED
    assert line["details"] == {"secret": REDACTED}


async def test_request_id_round_trip(client: httpx.AsyncClient) -> None:
    offered = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    invalid = await client.get("/health/live", headers={"X-Request-ID": "no spaces allowed"})
    missing = await client.get("/health/live")

    assert offered.headers["x-request-id"] == "abc-123"
    assert invalid.headers["x-request-id"] != "no spaces allowed"
    assert len(invalid.headers["x-request-id"]) == 32
    assert len(missing.headers["x-request-id"]) == 32


async def test_request_id_reaches_send_log(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    log_capture: LogCapture,
) -> None:
    store = await make_store(session)
    await make_menu(session, store)
    await session.commit()
    body = dumps(envelope(store.whatsapp_phone_number_id, messages=[text_message("oi")]))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(body),
        "X-Request-ID": "abc",
    }

    response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "abc"

    async with app.state.session_factory() as fresh:
        queued = list(await fresh.scalars(select(OutboxMessage)))
    assert queued
    assert {message.request_id for message in queued} == {"abc"}

    # The sender runs outside any request, as the worker does.
    structlog.contextvars.clear_contextvars()
    sent = await send_due(settings, app.state.session_factory, transport=LogTransport())

    assert sent == len(queued)
    sends = log_capture.events("whatsapp.send")
    assert len(sends) == len(queued)
    for line in sends:
        assert line["request_id"] == "abc"
        assert line["to"] == "*********1234"
    recorded = log_capture.events("outbox.sent")
    assert [line["request_id"] for line in recorded] == ["abc"] * len(queued)
    assert PHONE not in "\n".join(log_capture.lines)
