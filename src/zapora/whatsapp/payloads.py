"""The WhatsApp Cloud API webhook body as pydantic models, tolerant of fields Meta adds.

The envelope is validated first and each contact, message and status on its own, so one
item of an unexpected shape is skipped without losing the rest of the delivery.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zapora.whatsapp.errors import InvalidWebhookBodyError
from zapora.whatsapp.events import IncomingMessage

logger = structlog.get_logger(__name__)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Change(_Tolerant):
    field: str | None = None
    value: dict[str, Any] | None = None


class Entry(_Tolerant):
    id: str | None = None
    changes: list[Change] = []


class WebhookPayload(_Tolerant):
    object: str | None = None
    entry: list[Entry] = []


class Metadata(_Tolerant):
    phone_number_id: str
    display_phone_number: str | None = None


class ChangeValue(_Tolerant):
    """The ``value`` of a ``messages`` change; its items are validated one by one later."""

    metadata: Metadata | None = None
    contacts: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []


class Profile(_Tolerant):
    name: str | None = None


class Contact(_Tolerant):
    wa_id: str | None = None
    # The business-scoped user id (BSUID), e.g. "BR.1502576394655843".
    user_id: str | None = None
    profile: Profile | None = None


class MessageHeader(_Tolerant):
    """The fields every inbound message carries; the type's own object stays in the extras."""

    id: str
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: str | int | None = None
    type: str = "unknown"


class StatusError(_Tolerant):
    code: int | None = None
    title: str | None = None
    message: str | None = None


class StatusEvent(_Tolerant):
    id: str
    status: str
    timestamp: str | int | None = None
    recipient_id: str | None = None
    errors: list[StatusError] = []


class TextContent(_Tolerant):
    body: str | None = None


class ReplyContent(_Tolerant):
    id: str | None = None
    title: str | None = None


class InteractiveContent(_Tolerant):
    type: str | None = None
    list_reply: ReplyContent | None = None
    button_reply: ReplyContent | None = None


class ButtonContent(_Tolerant):
    payload: str | None = None
    text: str | None = None


class LocationContent(_Tolerant):
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    name: str | None = None
    address: str | None = None


def parse_webhook_body(body: bytes) -> WebhookPayload | None:
    """Parse a verified body; return None for JSON of an unexpected shape.

    A body that is not JSON raises a 400. JSON of another shape returns None so the route
    acknowledges it, because Meta would otherwise redeliver the same body for days.
    """
    try:
        document = _storable(json.loads(body, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as exc:
        raise InvalidWebhookBodyError(
            "The webhook body is not valid JSON.", fix="send the JSON document Meta signs"
        ) from exc
    try:
        return WebhookPayload.model_validate(document)
    except ValidationError as exc:
        logger.warning("webhook.unexpected_shape", errors=exc.error_count())
        return None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL JSONB rejects them.
    raise ValueError(f"{name} is not a JSON value")


def _storable(value: Any) -> Any:
    """Drop NUL characters and replace lone surrogates, which the databases reject."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def parse_timestamp(value: str | int | None) -> datetime | None:
    """Convert a Cloud API timestamp (Unix seconds, usually a string) to aware UTC."""
    if value is None:
        return None
    try:
        seconds = int(value)
        # A timestamp before 1970 is invalid, so the caller uses the arrival time instead.
        return datetime.fromtimestamp(seconds, tz=UTC) if seconds >= 0 else None
    except (ValueError, OverflowError, OSError):
        return None


def to_incoming_message(
    payload: dict[str, Any], *, message_id: str, message_type: str, sent_at: datetime
) -> IncomingMessage:
    """Reduce a stored message object to what the conversation engine reads.

    A type-specific object that is missing or malformed gives a message with only its type
    set, which the engine handles like any type it does not support.
    """
    base = IncomingMessage(message_id=message_id, type=message_type, sent_at=sent_at)
    try:
        return _with_content(base, payload)
    except ValidationError:
        logger.warning("inbox.malformed_content", message_id=message_id, type=message_type)
        return base


def _with_content(base: IncomingMessage, payload: dict[str, Any]) -> IncomingMessage:
    content = payload.get(base.type)
    if content is None:
        return base
    if base.type == "text":
        text = TextContent.model_validate(content)
        return dataclasses.replace(base, text=text.body)
    if base.type == "interactive":
        interactive = InteractiveContent.model_validate(content)
        reply = interactive.list_reply or interactive.button_reply
        if reply is None:
            return base
        return dataclasses.replace(base, reply_id=reply.id, text=reply.title)
    if base.type == "button":
        button = ButtonContent.model_validate(content)
        return dataclasses.replace(base, reply_id=button.payload, text=button.text)
    if base.type == "location":
        location = LocationContent.model_validate(content)
        return dataclasses.replace(
            base,
            latitude=location.latitude,
            longitude=location.longitude,
            location_name=location.name,
            location_address=location.address,
        )
    return base
