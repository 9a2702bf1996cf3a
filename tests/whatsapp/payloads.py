"""Build and sign WhatsApp Cloud API webhook payloads as Meta sends them.

Message builders return one ``messages[]`` item, and ``envelope`` wraps items into a whole
delivery for one business number. ``post_webhook`` serialises it the way Meta does
(non-ASCII as ``\\uXXXX``, ``/`` as ``\\/``), signs the exact bytes and posts them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from tests.conftest import APP_SECRET

WEBHOOK_PATH = "/webhooks/whatsapp"
DEFAULT_WA_ID = "5511955551234"
DEFAULT_PROFILE_NAME = "Maria Teste"


def new_message_id() -> str:
    """Return a fresh opaque wamid."""
    return f"wamid.{uuid.uuid4().hex}"


def _timestamp(timestamp: int | None) -> str:
    # Meta sends Unix seconds as a string.
    return str(timestamp if timestamp is not None else int(time.time()))


def message(
    message_type: str,
    content: dict[str, Any] | None = None,
    *,
    wa_id: str = DEFAULT_WA_ID,
    message_id: str | None = None,
    timestamp: int | None = None,
    context_id: str | None = None,
) -> dict[str, Any]:
    """Return a ``messages[]`` item of any type; ``content`` goes under the type's key."""
    item: dict[str, Any] = {
        "from": wa_id,
        "id": message_id or new_message_id(),
        "timestamp": _timestamp(timestamp),
        "type": message_type,
    }
    if content is not None:
        item[message_type] = content
    if context_id is not None:
        item["context"] = {"from": "5511955550000", "id": context_id}
    return item


def text_message(body: str, **fields: Any) -> dict[str, Any]:
    return message("text", {"body": body}, **fields)


def list_reply(
    row_id: str, title: str, *, description: str | None = None, **fields: Any
) -> dict[str, Any]:
    reply: dict[str, Any] = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    return message("interactive", {"type": "list_reply", "list_reply": reply}, **fields)


def button_reply(button_id: str, title: str, **fields: Any) -> dict[str, Any]:
    content = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return message("interactive", content, **fields)


def quick_reply_button(payload: str, text: str, **fields: Any) -> dict[str, Any]:
    """Return a template quick-reply message (type ``button``)."""
    return message("button", {"payload": payload, "text": text}, **fields)


def location_message(
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    content: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        content["name"] = name
    if address is not None:
        content["address"] = address
    return message("location", content, **fields)


def reaction_message(reacted_message_id: str, emoji: str, **fields: Any) -> dict[str, Any]:
    return message("reaction", {"message_id": reacted_message_id, "emoji": emoji}, **fields)


def media_message(message_type: str = "image", **fields: Any) -> dict[str, Any]:
    """Return an image, audio, video, document or sticker message with a media id."""
    content = {"id": uuid.uuid4().hex, "mime_type": "image/webp", "sha256": "0" * 64}
    return message(message_type, content, **fields)


def unsupported_message(**fields: Any) -> dict[str, Any]:
    item = message("unsupported", **fields)
    item["errors"] = [{"code": 131051, "title": "Message type unknown"}]
    return item


def status_event(
    graph_message_id: str,
    status: str,
    *,
    timestamp: int | None = None,
    recipient_id: str = DEFAULT_WA_ID,
    error_code: int | None = None,
    error_title: str | None = None,
) -> dict[str, Any]:
    """Return a ``statuses[]`` item about a message we sent."""
    item: dict[str, Any] = {
        "id": graph_message_id,
        "status": status,
        "timestamp": _timestamp(timestamp),
        "recipient_id": recipient_id,
    }
    if error_code is not None:
        item["errors"] = [
            {
                "code": error_code,
                "title": error_title or "Error",
                "message": error_title or "Error",
                "error_data": {"details": "details from the test"},
            }
        ]
    return item


def contact(
    wa_id: str = DEFAULT_WA_ID,
    name: str | None = DEFAULT_PROFILE_NAME,
    *,
    user_id: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"wa_id": wa_id}
    if name is not None:
        item["profile"] = {"name": name}
    if user_id is not None:
        item["user_id"] = user_id
    return item


def envelope(
    phone_number_id: str,
    messages: Sequence[dict[str, Any]] = (),
    statuses: Sequence[dict[str, Any]] = (),
    contacts: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Wrap items into one delivery; ``contacts`` default to one per message sender."""
    if contacts is None:
        senders = dict.fromkeys(item["from"] for item in messages if "from" in item)
        contacts = [contact(wa_id) for wa_id in senders]
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511955550000", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = list(contacts)
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def dumps(payload: dict[str, Any]) -> bytes:
    """Serialise like Meta: ASCII only, with ``/`` escaped as ``\\/``."""
    return json.dumps(payload, ensure_ascii=True).replace("/", "\\/").encode("ascii")


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    """Return the ``X-Hub-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_webhook(
    client: httpx.AsyncClient,
    payload: dict[str, Any] | bytes,
    secret: str = APP_SECRET,
) -> httpx.Response:
    """Post a delivery signed with ``secret``; a dict is serialised with ``dumps`` first."""
    body = payload if isinstance(payload, bytes) else dumps(payload)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)}
    return await client.post(WEBHOOK_PATH, content=body, headers=headers)
