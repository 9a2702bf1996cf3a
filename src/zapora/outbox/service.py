"""Queue outbound WhatsApp messages in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.outbox.models import OutboxMessage

logger = structlog.get_logger(__name__)


async def enqueue(
    session: AsyncSession,
    *,
    store_id: uuid.UUID,
    to: str,
    body: dict[str, Any],
    customer_id: uuid.UUID | None = None,
) -> OutboxMessage:
    """Add a message for the sender; it goes out only if the caller's transaction commits.

    ``body`` is the Graph API message object without ``messaging_product`` and ``to``,
    for example ``{"type": "text", "text": {"body": "Olá"}}``.
    """
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    message = OutboxMessage(
        store_id=store_id,
        customer_id=customer_id,
        to=to,
        body=body,
        request_id=request_id,
    )
    session.add(message)
    await session.flush()
    return message
