"""Delivery statuses of the messages we sent, applied so that they never move backwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import structlog
from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.db import utcnow
from zapora.outbox.models import DELIVERY_STATUS_RANK, DeliveryStatus, OutboxMessage
from zapora.whatsapp.payloads import StatusEvent, parse_timestamp

logger = structlog.get_logger(__name__)

ERROR_MESSAGE_MAX_LENGTH = 500
# error_code is a 32-bit INTEGER column.
_ERROR_CODE_MIN = -(2**31)
_ERROR_CODE_MAX = 2**31 - 1


def _rank(event: StatusEvent) -> int:
    try:
        return DELIVERY_STATUS_RANK[DeliveryStatus(event.status)]
    except ValueError:
        return 0


def _lock_order(status: tuple[uuid.UUID, StatusEvent]) -> tuple[str, int, str]:
    store_id, event = status
    return (event.id, -_rank(event), str(store_id))


async def apply_statuses(
    session: AsyncSession, statuses: Iterable[tuple[uuid.UUID, StatusEvent]]
) -> int:
    """Apply ``(store_id, event)`` statuses and return how many changed an outbox row.

    Each UPDATE locks its row until the transaction ends. Applying the statuses in one
    fixed order, by message id, makes every delivery take those row locks in the same
    order, so two deliveries naming the same messages in opposite orders do not deadlock
    on them. The highest rank goes first so that lower statuses of the same message
    write nothing.
    """
    applied = 0
    for store_id, event in sorted(statuses, key=_lock_order):
        if await apply_status(session, store_id, event):
            applied += 1
    return applied


async def apply_status(session: AsyncSession, store_id: uuid.UUID, event: StatusEvent) -> bool:
    """Record a delivery status on the store's outbox row; return whether it changed.

    The rank check sits in the UPDATE's WHERE clause, so of two concurrent deliveries the
    later-ranked status wins whatever order they commit in. Unknown message ids and
    unknown status values are ignored.
    """
    try:
        status = DeliveryStatus(event.status)
    except ValueError:
        logger.info("whatsapp.status_unknown", status=event.status[:32])
        return False
    current_rank = case(
        {value.value: rank for value, rank in DELIVERY_STATUS_RANK.items()},
        value=OutboxMessage.delivery_status,
        # No status yet (NULL) ranks below every status.
        else_=0,
    )
    values: dict[str, object] = {
        "delivery_status": status.value,
        "delivery_status_at": parse_timestamp(event.timestamp) or utcnow(),
    }
    if status is DeliveryStatus.FAILED:
        error = event.errors[0] if event.errors else None
        code = error.code if error else None
        in_range = code is not None and _ERROR_CODE_MIN <= code <= _ERROR_CODE_MAX
        values["error_code"] = code if in_range else None
        title = (error.title or error.message) if error else None
        values["error_message"] = title[:ERROR_MESSAGE_MAX_LENGTH] if title else None
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.store_id == store_id,
            OutboxMessage.graph_message_id == event.id,
            current_rank < DELIVERY_STATUS_RANK[status],
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed and status is DeliveryStatus.FAILED:
        logger.warning(
            "whatsapp.delivery_failed",
            store_id=str(store_id),
            graph_message_id=event.id,
            error_code=values["error_code"],
        )
    return changed
