"""The 24-hour customer-service window: which body a claimed row sends, or why it cannot go."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.customers.models import Customer
from zapora.observability.metrics import WHATSAPP_SENDS
from zapora.outbox.errors import window_closed_error
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.transports import OutgoingMessage

logger = structlog.get_logger(__name__)

# Free-form messages reach a customer only this long after their last message.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def outgoing(
    row: OutboxMessage,
    lease_until: datetime,
    credentials: tuple[str | None, str | None],
    *,
    window_open: bool,
) -> OutgoingMessage:
    """Detach a claimed row, choosing its template over its text when the window is closed."""
    template = row.template_body if row.body.get("type") != "template" else None
    return OutgoingMessage(
        id=row.id,
        store_id=row.store_id,
        to=row.to,
        body=row.body if window_open or template is None else template,
        attempts=row.attempts,
        request_id=row.request_id,
        lease_until=lease_until,
        phone_number_id=credentials[0],
        access_token=credentials[1],
        template_body=template if window_open else None,
    )


def has_template(row: OutboxMessage) -> bool:
    return row.body.get("type") == "template" or row.template_body is not None


async def closed_windows(
    session: AsyncSession, rows: list[OutboxMessage], now: datetime
) -> set[uuid.UUID]:
    """Return the customers among ``rows`` whose last message is older than the window.

    A customer with no recorded message counts as inside the window, because the Graph API
    returns error 131047 if the window is closed after all.
    """
    customer_ids = {row.customer_id for row in rows if row.customer_id is not None}
    if not customer_ids:
        return set()
    found = await session.execute(
        select(Customer.id).where(
            Customer.id.in_(customer_ids),
            Customer.last_message_at <= now - CUSTOMER_SERVICE_WINDOW,
        )
    )
    return set(found.scalars())


async def fail_blocked(session: AsyncSession, rows: list[OutboxMessage]) -> None:
    """Fail rows that need a template the store does not have, without calling the API."""
    if not rows:
        return
    error = window_closed_error()
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in rows]))
        .values(
            status=OutboxStatus.FAILED.value,
            error_code=error.code,
            error_message=error.message,
        )
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        WHATSAPP_SENDS.labels(result="failed", error_code=str(error.code)).inc()
        logger.error(
            "outbox.failed",
            outbox_message_id=str(row.id),
            store_id=str(row.store_id),
            error_code=error.code,
            error=error.message,
            attempts=row.attempts,
            retryable=False,
        )
