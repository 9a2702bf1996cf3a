"""Stored Cloud API message objects become the engine's IncomingMessage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.whatsapp.payloads import (
    button_reply,
    list_reply,
    location_message,
    media_message,
    message,
    quick_reply_button,
    text_message,
)
from zapora.whatsapp.events import IncomingMessage
from zapora.whatsapp.payloads import parse_timestamp, to_incoming_message

SENT_AT = datetime(2025, 12, 4, 0, 0, tzinfo=UTC)


def _convert(payload: dict) -> IncomingMessage:
    return to_incoming_message(
        payload, message_id=payload["id"], message_type=payload["type"], sent_at=SENT_AT
    )


def test_text_becomes_text():
    payload = text_message("Quero uma pizza")
    incoming = _convert(payload)
    assert incoming == IncomingMessage(
        message_id=payload["id"], type="text", sent_at=SENT_AT, text="Quero uma pizza"
    )


def test_list_reply_gives_id_and_title():
    incoming = _convert(list_reply("item:42", "Margherita", description="Tomate e queijo"))
    assert incoming.type == "interactive"
    assert incoming.reply_id == "item:42"
    assert incoming.text == "Margherita"


def test_button_reply_gives_id_and_title():
    incoming = _convert(button_reply("checkout", "Finalizar", context_id="wamid.sent"))
    assert incoming.reply_id == "checkout"
    assert incoming.text == "Finalizar"


def test_template_quick_reply_gives_payload():
    incoming = _convert(quick_reply_button("order:track", "Acompanhar pedido"))
    assert incoming.type == "button"
    assert incoming.reply_id == "order:track"
    assert incoming.text == "Acompanhar pedido"


def test_location_gives_coordinates_and_place():
    payload = location_message(
        -23.5505, -46.6333, name="Casa", address="Rua Augusta, 100 - São Paulo"
    )
    incoming = _convert(payload)
    assert incoming.latitude == -23.5505
    assert incoming.longitude == -46.6333
    assert incoming.location_name == "Casa"
    assert incoming.location_address == "Rua Augusta, 100 - São Paulo"
    assert incoming.text is None


def test_location_without_place_name():
    incoming = _convert(location_message(-23.5, -46.6))
    assert incoming.latitude == -23.5
    assert incoming.location_name is None
    assert incoming.location_address is None


@pytest.mark.parametrize(
    "content",
    [
        {"latitude": 123.0, "longitude": -46.6},
        {"latitude": "north", "longitude": -46.6},
        {"longitude": -46.6},
        {"latitude": float("nan"), "longitude": -46.6},
    ],
    ids=["out-of-range", "not-a-number", "missing", "nan"],
)
def test_invalid_location_gives_type_only(content):
    payload = message("location", content)
    incoming = _convert(payload)
    assert incoming == IncomingMessage(message_id=payload["id"], type="location", sent_at=SENT_AT)


@pytest.mark.parametrize(
    "payload",
    [
        media_message("image"),
        media_message("audio"),
        message("order", {"catalog_id": "1", "product_items": []}),
        message("text"),
        message("text", {"body": ["not", "text"]}),
        message("interactive", {"type": "nfm_reply", "nfm_reply": {}}),
    ],
    ids=["image", "audio", "order", "text-without-object", "text-not-string", "other-reply"],
)
def test_other_content_gives_type_only(payload):
    incoming = _convert(payload)
    assert incoming == IncomingMessage(
        message_id=payload["id"], type=payload["type"], sent_at=SENT_AT
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1764806400", datetime(2025, 12, 4, 0, 0, tzinfo=UTC)),
        (1764806400, datetime(2025, 12, 4, 0, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("9" * 30, None),
        (None, None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected
