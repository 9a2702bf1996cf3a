"""POST /webhooks/whatsapp: only bodies signed with the app secret are stored."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_settings
from tests.whatsapp.conftest import app_client, count, fetch_all
from tests.whatsapp.payloads import (
    WEBHOOK_PATH,
    contact,
    dumps,
    envelope,
    post_webhook,
    sign,
    text_message,
)
from zapora.customers.models import Customer
from zapora.whatsapp.models import InboundMessage


async def _nothing_stored(session_factory) -> None:
    assert await count(session_factory, InboundMessage) == 0
    assert await count(session_factory, Customer) == 0


def _signed_body(store) -> bytes:
    return dumps(envelope(store.whatsapp_phone_number_id, [text_message("Oi")]))


async def test_signature_missing_is_401(client, store, session_factory):
    body = _signed_body(store)
    response = await client.post(
        WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "signature_missing"
    await _nothing_stored(session_factory)


async def test_signature_with_other_secret_is_403(client, store, session_factory):
    response = await post_webhook(client, _signed_body(store), secret="another-app-secret")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    await _nothing_stored(session_factory)


async def test_signature_of_other_body_is_403(client, store, session_factory):
    body = _signed_body(store)
    tampered = body.replace(b"Oi", b"Eu")
    response = await client.post(
        WEBHOOK_PATH,
        content=tampered,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
    )
    assert response.status_code == 403
    await _nothing_stored(session_factory)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha256=zz",
        "sha256=" + "g" * 64,
        "sha1=" + "0" * 40,
        "SHA256=" + "0" * 64,
        "0" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 65,
    ],
    ids=["empty", "no-digest", "short", "not-hex", "sha1", "upper-prefix", "no-prefix", "63", "65"],
)
async def test_signature_malformed_is_403(client, store, session_factory, header):
    response = await client.post(
        WEBHOOK_PATH,
        content=_signed_body(store),
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": header},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    await _nothing_stored(session_factory)


async def test_signature_non_ascii_header_is_403(client, store, session_factory):
    body = _signed_body(store)
    header = (sign(body)[:-1] + "é").encode("latin-1")
    response = await client.post(
        WEBHOOK_PATH,
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": header},
    )
    assert response.status_code == 403
    await _nothing_stored(session_factory)


async def test_webhook_without_app_secret_rejects_all(database_url, store, session_factory):
    settings = make_settings(database_url, whatsapp_app_secret=None)
    async with app_client(settings) as http:
        signed = await post_webhook(http, _signed_body(store))
        unsigned = await http.post(WEBHOOK_PATH, content=_signed_body(store))
    assert signed.status_code == 403
    assert signed.json()["code"] == "webhook_disabled"
    assert "ZAPORA_WHATSAPP_APP_SECRET" in signed.json()["errors"][0]["fix"]
    assert unsigned.status_code == 403
    await _nothing_stored(session_factory)


async def test_signature_covers_escaped_bytes(client, store, session_factory):
    payload = envelope(
        store.whatsapp_phone_number_id,
        [text_message("Olá, quero 1/2 pizza")],
        contacts=[contact(name="José Ávila")],
    )
    body = dumps(payload)
    assert b"\\u00e1" in body
    assert b"\\/" in body
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert sign(reserialised) != sign(body)

    response = await post_webhook(client, body)

    assert response.status_code == 200
    [message] = await fetch_all(session_factory, InboundMessage)
    assert message.payload["text"]["body"] == "Olá, quero 1/2 pizza"
    [customer] = await fetch_all(session_factory, Customer)
    assert customer.profile_name == "José Ávila"


async def test_signed_body_not_json_is_400(client, store, session_factory):
    response = await post_webhook(client, b"entry=1&object=whatsapp")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook_body"
    await _nothing_stored(session_factory)


@pytest.mark.parametrize(
    "document",
    [
        [1, 2],
        {"entry": "not a list"},
        {"entry": [{"changes": [{"field": "messages", "value": 3}]}]},
    ],
    ids=["list", "entry-string", "value-number"],
)
async def test_signed_json_of_other_shape_is_acknowledged(client, store, session_factory, document):
    response = await post_webhook(client, json.dumps(document).encode())
    assert response.status_code == 200
    assert response.json()["messages_stored"] == 0
    await _nothing_stored(session_factory)
