"""A customer's inbound message, reduced to what the conversation engine reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncomingMessage:
    """One message from a customer.

    ``type`` is the WhatsApp message type (``text``, ``interactive``, ``location``,
    ``button``, or another type the engine answers with a hint). For list and button
    replies ``reply_id`` is the row or button id the bot sent and ``text`` is its title;
    for a template quick reply ``reply_id`` is the payload.
    """

    message_id: str
    type: str
    sent_at: datetime
    text: str | None = None
    reply_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    location_address: str | None = None
