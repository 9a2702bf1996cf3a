"""Queue outbound WhatsApp messages in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage, OutboxStatus

logger = structlog.get_logger(__name__)

# The kind of the messages that announce an order's status. Only these supersede each other.
STATUS_KIND = "status"


async def enqueue(
    session: AsyncSession,
    *,
    store_id: uuid.UUID,
    to: str,
    body: dict[str, Any],
    customer_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    kind: str = "reply",
    template_body: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Add a message for the sender; it goes out only if the caller's transaction commits.

    ``body`` is the Graph API message object without ``messaging_product`` and ``to``,
    for example ``{"type": "text", "text": {"body": "Olá"}}``. ``template_body`` has the
    same shape and replaces ``body`` when the customer's 24-hour window is closed.
    """
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    message = OutboxMessage(
        store_id=store_id,
        customer_id=customer_id,
        order_id=order_id,
        kind=kind,
        to=to,
        body=body,
        template_body=template_body,
        request_id=request_id,
    )
    session.add(message)
    await session.flush()
    return message


async def supersede_pending(
    session: AsyncSession, *, store_id: uuid.UUID, order_id: uuid.UUID, kind: str
) -> int:
    """Mark the order's unsent, unclaimed messages of ``kind`` superseded and count them.

    A row under a live sender lease is left alone, because it may be on its way already.
    """
    now = utcnow()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.store_id == store_id,
            OutboxMessage.order_id == order_id,
            OutboxMessage.kind == kind,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .values(status=OutboxStatus.SUPERSEDED.value)
        .execution_options(synchronize_session=False)
    )
    count: int = getattr(result, "rowcount", 0) or 0
    if count:
        logger.info(
            "outbox.superseded",
            store_id=str(store_id),
            order_id=str(order_id),
            kind=kind,
            count=count,
        )
    return count
