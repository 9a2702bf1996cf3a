"""Customer details carried by WhatsApp deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ContactDetails:
    """A customer as one webhook delivery describes them.

    ``wa_id`` is kept exactly as received. None in the other fields means "not sent in
    this delivery", so a value stored earlier is kept.
    """

    wa_id: str
    profile_name: str | None = None
    business_scoped_user_id: str | None = None
    last_message_at: datetime | None = None
