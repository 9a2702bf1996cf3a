"""Opaque cursors for newest-first listings ordered by a timestamp, then by id."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from zapora.errors import InvalidInputError


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """Encode the position after the row (``at``, ``row_id``) as an opaque string."""
    position = {"at": at.astimezone(UTC).isoformat(), "id": str(row_id)}
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Decode a cursor from :func:`encode_cursor`, raising 422 on ``cursor`` if it is invalid."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        position = json.loads(raw)
        if not isinstance(position, dict):
            raise ValueError("cursor is not an object")
        at_text, id_text = position.get("at"), position.get("id")
        if not isinstance(at_text, str) or not isinstance(id_text, str):
            raise ValueError("cursor lacks at or id")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("cursor time has no offset")
        return at.astimezone(UTC), uuid.UUID(id_text)
    except (ValueError, OverflowError):
        raise InvalidInputError(
            "The cursor is invalid.",
            field="cursor",
            fix="pass the next_cursor of a previous page unchanged, or leave cursor out",
        ) from None
