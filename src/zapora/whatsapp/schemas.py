"""Inbox data shown to staff."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class InboxMessageOut(BaseModel):
    """An inbound message without its content; ``wa_id`` keeps only its last four digits."""

    id: uuid.UUID
    message_id: str
    wa_id: str
    type: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime
    received_at: datetime
    processed_at: datetime | None


class WebhookReceipt(BaseModel):
    """Counts of what one webhook delivery stored and applied."""

    messages_stored: int
    duplicates: int
    statuses_applied: int
