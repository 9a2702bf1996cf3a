"""Webhook envelopes, their signature, and posting them to a real Zapora app."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import APP_SECRET
from tests.factories import make_store
from zapora.chat.webhook_client import (
    Customer,
    ServerUnreachableError,
    SignatureRejectedError,
    WebhookClient,
    build_message_envelope,
    build_status_envelope,
    encode_body,
    sign,
)
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.whatsapp.models import InboundMessage

CUSTOMER = Customer(phone_number_id="100000000000001", wa_id="5511955551234", profile_name="Maria")


def test_message_envelope_shape() -> None:
    envelope = build_message_envelope(
        CUSTOMER,
        {"type": "text", "text": {"body": "Oi"}},
        message_id="wamid.one",
        timestamp="1764806400",
    )

    assert envelope["object"] == "whatsapp_business_account"
    value = envelope["entry"][0]["changes"][0]["value"]
    assert envelope["entry"][0]["changes"][0]["field"] == "messages"
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == "100000000000001"
    assert value["contacts"] == [{"profile": {"name": "Maria"}, "wa_id": "5511955551234"}]
    assert value["messages"] == [
        {
            "from": "5511955551234",
            "id": "wamid.one",
            "timestamp": "1764806400",
            "type": "text",
            "text": {"body": "Oi"},
        }
    ]


def test_status_envelope_shape() -> None:
    envelope = build_status_envelope(
        CUSTOMER,
        message_id="wamid.bot",
        status="delivered",
        timestamp="1764806401",
        callback_data="outbox:1",
    )

    value = envelope["entry"][0]["changes"][0]["value"]
    assert "messages" not in value
    assert value["statuses"] == [
        {
            "id": "wamid.bot",
            "status": "delivered",
            "timestamp": "1764806401",
            "recipient_id": "5511955551234",
            "biz_opaque_callback_data": "outbox:1",
        }
    ]


def test_body_escapes_like_meta() -> None:
    envelope = {"text": "Olá / até já"}

    body = encode_body(envelope)

    assert body == b'{"text":"Ol\\u00e1 \\/ at\\u00e9 j\\u00e1"}'
    assert json.loads(body) == envelope


def test_signature_is_hmac_of_exact_bytes() -> None:
    body = encode_body({"a": "São Paulo/SP"})

    signature = sign(body, "app-secret")

    expected = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    reserialised = json.dumps(json.loads(body)).encode()
    assert sign(reserialised, "app-secret") != signature


async def test_text_message_stored_by_webhook(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    await session.commit()
    customer = Customer(store.whatsapp_phone_number_id or "", "5511955551234", "Maria Teste")
    webhook = WebhookClient(
        client, base_url="http://testserver", app_secret=APP_SECRET, customer=customer
    )
    before = int(time.time())

    message_id = await webhook.send_message({"type": "text", "text": {"body": "Oi, São Paulo"}})

    stored = await session.scalar(
        select(InboundMessage).where(InboundMessage.message_id == message_id)
    )
    assert stored is not None
    assert stored.store_id == store.id
    assert stored.wa_id == "5511955551234"
    assert stored.type == "text"
    assert stored.payload["text"] == {"body": "Oi, São Paulo"}
    assert int(stored.payload["timestamp"]) >= before


async def test_each_message_gets_new_id(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()
    customer = Customer(store.whatsapp_phone_number_id or "", "5511955551234", "Maria")
    webhook = WebhookClient(
        client, base_url="http://testserver", app_secret=APP_SECRET, customer=customer
    )

    first = await webhook.send_message({"type": "text", "text": {"body": "oi"}})
    second = await webhook.send_message({"type": "text", "text": {"body": "oi"}})

    assert first != second
    assert first.startswith("wamid.")
    stored = await session.scalars(
        select(InboundMessage.message_id).where(InboundMessage.store_id == store.id)
    )
    assert set(stored) == {first, second}


async def test_status_updates_sent_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    sent = OutboxMessage(
        store_id=store.id,
        to=CUSTOMER.wa_id,
        body={"type": "text", "text": {"body": "Olá"}},
        status=OutboxStatus.SENT.value,
        graph_message_id="wamid.bot",
    )
    session.add(sent)
    await session.commit()
    customer = Customer(store.whatsapp_phone_number_id or "", CUSTOMER.wa_id, "Maria")
    webhook = WebhookClient(
        client, base_url="http://testserver", app_secret=APP_SECRET, customer=customer
    )

    await webhook.send_status("wamid.bot", "delivered")

    await session.refresh(sent)
    assert sent.delivery_status == "delivered"


async def test_wrong_secret_rejected(client: httpx.AsyncClient) -> None:
    webhook = WebhookClient(
        client, base_url="http://testserver", app_secret="another-secret", customer=CUSTOMER
    )

    with pytest.raises(SignatureRejectedError, match="ZAPORA_WHATSAPP_APP_SECRET"):
        await webhook.send_message({"type": "text", "text": {"body": "oi"}})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unreachable_server_explained() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with httpx.AsyncClient() as http:
        webhook = WebhookClient(http, base_url=url, app_secret=APP_SECRET, customer=CUSTOMER)

        with pytest.raises(ServerUnreachableError, match=f"no Zapora server at {url}"):
            await webhook.send_message({"type": "text", "text": {"body": "oi"}})
