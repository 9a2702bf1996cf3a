"""The WhatsApp Cloud API webhook body as pydantic models, tolerant of fields Meta adds.

The envelope is validated first and each contact, message and status on its own, so one
item of an unexpected shape is skipped without losing the rest of the delivery.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import orjson
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


# orjson reads integers beyond 64 bits as floats, so a body with a run of 19 digits takes the
# standard library path, which keeps them exact, and so does a NUL escape, which needs cleaning.
# Mapping digits to "0" and other bytes to a space lets a substring search find such a run.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_NUL_ESCAPE = b"\\u0000"


def _needs_standard_parser(body: bytes) -> bool:
    return _NUL_ESCAPE in body or _LONG_DIGIT_RUN in body.translate(_DIGITS_AS_ZEROS)


def load_webhook_body(body: bytes) -> Any:
    """Decode a verified body into a JSON document the databases can store.

    A body that is not JSON raises a 400. orjson decodes the usual body. A body it rejects
    (lone surrogates, NaN, a byte order mark) goes to the standard library, which raises the
    400 or returns a cleaned document.
    """
    if not _needs_standard_parser(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return _storable(json.loads(body, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as exc:
        raise InvalidWebhookBodyError(
            "The webhook body is not valid JSON.", fix="send the JSON document Meta signs"
        ) from exc


def to_webhook_payload(document: Any) -> WebhookPayload | None:
    """Validate a decoded body; return None for JSON of an unexpected shape.

    The route acknowledges such a body, because Meta would otherwise redeliver it for days.
    """
    try:
        return WebhookPayload.model_validate(document)
    except ValidationError as exc:
        logger.warning("webhook.unexpected_shape", errors=exc.error_count())
        return None


@dataclasses.dataclass(frozen=True)
class SingleMessage:
    """A delivery's only message, with the fields of its header and of its sender's contact."""

    phone_number_id: str
    message: dict[str, Any]
    id: str
    from_: str | None
    from_user_id: str | None
    timestamp: str | int | None
    type: str
    profile_name: str | None
    contact_user_id: str | None


def read_single_message(document: Any) -> SingleMessage | None:
    """Return the message of a delivery that carries nothing else, read without the models.

    Most deliveries carry one message, and plain type checks cost a fraction of the models'
    validation. A field of a type the models would reject or convert gives None, as does
    any other shape, so such deliveries take the general path with its validation and logs.
    For every document it reads, the result equals what the models read.
    """
    if type(document) is not dict or not _optional_str(document, "object"):
        return None
    entry = _only_object(document.get("entry"))
    if entry is None or not _optional_str(entry, "id"):
        return None
    change = _only_object(entry.get("changes"))
    if change is None or change.get("field") != "messages":
        return None
    value = change.get("value")
    if type(value) is not dict or value.get("statuses", []) != []:
        return None
    metadata = value.get("metadata")
    message = _only_object(value.get("messages"))
    contacts = value.get("contacts", [])
    if (
        type(metadata) is not dict
        or type(metadata.get("phone_number_id")) is not str
        or not _optional_str(metadata, "display_phone_number")
        or message is None
        or type(contacts) is not list
    ):
        return None
    header = _read_header(message)
    if header is None:
        return None
    found = _read_contact(contacts, header[1])
    if found is None:
        return None
    return SingleMessage(metadata["phone_number_id"], message, *header, *found)


def _optional_str(item: dict[str, Any], key: str) -> bool:
    return type(item.get(key)) in _OPTIONAL_STR


def _only_object(value: Any) -> dict[str, Any] | None:
    if type(value) is list and len(value) == 1 and type(value[0]) is dict:
        return value[0]
    return None


_OPTIONAL_STR = (str, type(None))
_TIMESTAMP_TYPES = (str, int, type(None))


def _read_header(
    message: dict[str, Any],
) -> tuple[str, str | None, str | None, str | int | None, str] | None:
    """Return the fields MessageHeader reads, or None where it would reject or convert one."""
    # The models also take a sender under the field's own name, "from_".
    if "from_" in message or type(message.get("id")) is not str:
        return None
    message_type = message.get("type", "unknown")
    if (
        type(message_type) is not str
        or not _optional_str(message, "from")
        or not _optional_str(message, "from_user_id")
        or type(message.get("timestamp")) not in _TIMESTAMP_TYPES
    ):
        return None
    return (
        message["id"],
        message.get("from"),
        message.get("from_user_id"),
        message.get("timestamp"),
        message_type,
    )


def _read_contact(contacts: list[Any], wa_id: str | None) -> tuple[str | None, str | None] | None:
    """Return the profile name and user id of the sender's last contact entry.

    None when any entry is of a shape the models would reject, so that the general path
    skips and logs it.
    """
    found: tuple[str | None, str | None] = (None, None)
    for contact in contacts:
        if (
            type(contact) is not dict
            or not _optional_str(contact, "wa_id")
            or not _optional_str(contact, "user_id")
        ):
            return None
        profile = contact.get("profile")
        if profile is not None and (
            type(profile) is not dict or not _optional_str(profile, "name")
        ):
            return None
        if wa_id and contact.get("wa_id") == wa_id:
            found = (profile.get("name") if profile else None, contact.get("user_id"))
    return found


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
