"""Staff view of the inbox: list messages and send dead ones back for processing."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.db import utcnow
from zapora.errors import NotFoundError
from zapora.observability.logging import mask_phone
from zapora.whatsapp.errors import InboxMessageNotDeadError
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.whatsapp.schemas import InboxMessageOut

logger = structlog.get_logger(__name__)


def to_inbox_message_out(message: InboundMessage) -> InboxMessageOut:
    return InboxMessageOut(
        id=message.id,
        message_id=message.message_id,
        wa_id=mask_phone(message.wa_id) or "",
        type=message.type,
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        sent_at=message.sent_at,
        received_at=message.received_at,
        processed_at=message.processed_at,
    )


async def list_inbox(
    session: AsyncSession, store_id: uuid.UUID, *, status: InboxStatus | None, limit: int
) -> list[InboundMessage]:
    """Return the store's inbound messages, most recently sent first."""
    query = select(InboundMessage).where(InboundMessage.store_id == store_id)
    if status is not None:
        query = query.where(InboundMessage.status == status.value)
    query = query.order_by(InboundMessage.sent_at.desc(), InboundMessage.received_at.desc())
    return list(await session.scalars(query.limit(limit)))


async def retry_dead_message(
    session: AsyncSession, store_id: uuid.UUID, inbound_id: uuid.UUID, *, actor: Actor
) -> InboundMessage:
    """Reset a dead message to pending with a fresh attempt budget; the worker picks it up."""
    message = await session.scalar(
        select(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.store_id == store_id)
        .with_for_update()
    )
    if message is None:
        raise NotFoundError(f"Inbox message {inbound_id} not found.", field="inbound_id")
    if message.status != InboxStatus.DEAD.value:
        raise InboxMessageNotDeadError(
            f"Inbox message {inbound_id} is '{message.status}'; only dead messages are retried.",
            field="inbound_id",
            fix="retry a message listed with status=dead",
        )

    attempts = message.attempts
    message.status = InboxStatus.PENDING.value
    message.attempts = 0
    message.next_attempt_at = utcnow()
    await session.flush()

    await record(
        session,
        action="inbox.retried",
        actor=actor,
        store_id=store_id,
        target_type="inbound_message",
        target_id=message.id,
        before={"status": InboxStatus.DEAD.value, "attempts": attempts},
        after={"status": message.status, "attempts": message.attempts},
    )
    logger.info("inbox.retry_requested", inbound_id=str(inbound_id), store_id=str(store_id))
    return message
