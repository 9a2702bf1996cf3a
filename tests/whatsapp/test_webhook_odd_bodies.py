"""Signed bodies with unusual content never cause a server error."""

from __future__ import annotations

from tests.whatsapp.conftest import count, fetch_all
from tests.whatsapp.payloads import (
    dumps,
    envelope,
    new_message_id,
    post_webhook,
    status_event,
    text_message,
)
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.whatsapp.models import InboundMessage


async def test_nan_in_body_is_400(client, store, session_factory):
    payload = envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
    body = dumps(payload).replace(b'"Oi"', b"NaN")

    response = await post_webhook(client, body)

    assert response.status_code == 400
    assert await count(session_factory, InboundMessage) == 0


async def test_nul_and_lone_surrogate_are_stored(client, store, session_factory):
    payload = envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
    body = dumps(payload).replace(b'"Oi"', b'"O\\u0000i \\ud800"')

    response = await post_webhook(client, body)

    assert response.status_code == 200
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.payload["text"]["body"] == "Oi ?"


async def test_deep_nesting_is_400(client, store, session_factory):
    body = b"[" * 100_000 + b"]" * 100_000

    response = await post_webhook(client, body)

    assert response.status_code == 400


async def test_oversized_values_are_acknowledged(client, session, store, session_factory):
    sent = OutboxMessage(
        store_id=store.id,
        to="5511955551234",
        body={"type": "text", "text": {"body": "Oi"}},
        status=OutboxStatus.SENT.value,
        graph_message_id=new_message_id(),
    )
    session.add(sent)
    await session.commit()
    long_type = text_message("Oi")
    long_type["type"] = "x" * 500
    payload = envelope(
        store.whatsapp_phone_number_id,
        [long_type],
        statuses=[
            status_event(sent.graph_message_id, "failed", error_code=2**40, error_title="E" * 5000)
        ],
    )

    response = await post_webhook(client, payload)

    assert response.status_code == 200
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.type == "x" * 32
    [row] = await fetch_all(session_factory, OutboxMessage, OutboxMessage.id == sent.id)
    assert row.delivery_status == "failed"
    assert row.error_code is None
    assert len(row.error_message) == 500
