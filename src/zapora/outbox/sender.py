"""The outbox sender: claim due rows, send them outside any transaction, record each result.

A claim is a short transaction that locks due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the database write lock on SQLite) and stamps them with a lease
(``locked_until``). Sending happens after that commit. The result is written in a second
short transaction and only while the row still carries this sender's lease, so concurrent
senders never send one row twice, and a crashed sender's rows come back when the lease ends.

Whether a message may be free-form is decided at claim time, because the customer's
24-hour window may close while a row waits: outside the window the row's template goes out
instead, and a row without one fails with an explanation for staff. When the Graph API still
refuses the text for the window (error 131047), the row's body becomes its template and the
row is due again at once, so it is never retried as text. Status updates are held for
``notification_merge_seconds`` after they are queued so that a quick next change of the same
order can supersede them.

NOTE: delivery is at least once. A sender that crashes after the Graph API accepted a
message, or whose lease ends while it waits for the response, leaves the row to be sent again.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.config import Settings
from zapora.db import utcnow
from zapora.observability.metrics import WHATSAPP_SENDS
from zapora.outbox.errors import (
    OUTSIDE_WINDOW_CODE,
    SendError,
    without_template,
)
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.service import STATUS_KIND
from zapora.outbox.transports import OutgoingMessage, Transport
from zapora.outbox.window import closed_windows, fail_blocked, has_template, outgoing
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

# A claimed batch contains at most one row per customer, so rows in a batch can go out
# together. The bound keeps a batch of slow responses well inside one lease.
SEND_CONCURRENCY = 10

# Keeps 2 ** exponent far from float overflow for any max_attempts setting.
MAX_BACKOFF_EXPONENT = 32


async def send_due(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    transport: Transport,
    limit: int = 50,
) -> int:
    """Send one batch of due messages and return how many results were recorded."""
    messages = await claim_due(settings, session_factory, limit=limit)
    return await send_claimed(settings, session_factory, transport=transport, messages=messages)


async def send_claimed(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    transport: Transport,
    messages: list[OutgoingMessage],
) -> int:
    """Send messages from ``claim_due`` and return how many results were recorded.

    A message whose lease has ended is skipped, and a result is dropped when the row no
    longer carries the message's lease, because another sender owns the row by then.
    """
    if not messages:
        return 0
    semaphore = asyncio.Semaphore(SEND_CONCURRENCY)
    writer = _ResultWriter(session_factory)

    async def send_bounded(message: OutgoingMessage) -> bool:
        async with semaphore:
            return await _send_one(settings, writer, transport, message)

    results = await asyncio.gather(*(send_bounded(message) for message in messages))
    return sum(results)


async def claim_due(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    limit: int,
) -> list[OutgoingMessage]:
    """Lease up to ``limit`` due rows, oldest first, and return them with store credentials.

    Rows that may not go out (window closed, no template) are failed in the same transaction.
    """
    now = utcnow()
    lease_until = now + timedelta(seconds=settings.outbox_lease_seconds)
    held_since = now - timedelta(seconds=settings.notification_merge_seconds)
    async with session_factory() as session, session.begin():
        candidates = list(await session.scalars(_due_heads(now, held_since, limit)))
        if not candidates:
            return []
        rows = list((await session.scalars(_lock_due(candidates, now, limit))).all())
        if not rows:
            return []
        closed = await closed_windows(session, rows, now)
        blocked = [row for row in rows if row.customer_id in closed and not has_template(row)]
        rows = [row for row in rows if row not in blocked]
        await fail_blocked(session, blocked)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]))
            .values(locked_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        store_rows = await session.execute(
            select(Store.id, Store.whatsapp_phone_number_id, Store.whatsapp_access_token).where(
                Store.id.in_({row.store_id for row in rows})
            )
        )
        credentials = {store_id: (number, token) for store_id, number, token in store_rows}
    return [
        outgoing(
            row, lease_until, credentials[row.store_id], window_open=row.customer_id not in closed
        )
        for row in rows
    ]


# Candidates read per claim, as a multiple of its limit. Concurrent senders read the same
# oldest candidates, and the extra ones let each lock rows that the others skipped.
CANDIDATES_PER_CLAIMED_ROW = 4


def _due_heads(now: datetime, held_since: datetime, limit: int) -> Select[uuid.UUID]:
    """Build the query for the ids of due rows that are the oldest pending row to their number.

    Messages to one customer go out in creation order: a row waits while an older row to the
    same number from the same store is pending, whether leased, backing off or due. A
    terminally failed older row no longer delays the newer ones.

    The window function reads the pending rows once, in the order of the partial index on
    them. Written as a check of older rows per candidate instead, the claim became a nested
    loop over every pending row when the table's statistics predated a burst: quadratic in
    the backlog.
    """
    pending = (
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.next_attempt_at,
            OutboxMessage.locked_until,
            OutboxMessage.created_at,
            func.row_number()
            .over(
                partition_by=(OutboxMessage.store_id, OutboxMessage.to),
                order_by=(OutboxMessage.created_at, OutboxMessage.id),
            )
            .label("position"),
        )
        .where(OutboxMessage.status == OutboxStatus.PENDING.value)
        .subquery("pending")
    )
    return (
        select(pending.c.id)
        .where(
            pending.c.position == 1,
            pending.c.next_attempt_at <= now,
            or_(pending.c.locked_until.is_(None), pending.c.locked_until <= now),
            or_(pending.c.kind != STATUS_KIND, pending.c.created_at <= held_since),
        )
        .order_by(pending.c.created_at, pending.c.id)
        .limit(limit * CANDIDATES_PER_CLAIMED_ROW)
    )


def _lock_due(candidates: list[uuid.UUID], now: datetime, limit: int) -> Select[OutboxMessage]:
    """Build the query that locks up to ``limit`` candidates still due and free, oldest first.

    Another sender may have leased or sent a candidate since it was read, so the conditions
    are checked again under the row lock.
    """
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_(candidates),
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def _send_one(
    settings: Settings,
    writer: _ResultWriter,
    transport: Transport,
    message: OutgoingMessage,
) -> bool:
    context = {"request_id": message.request_id} if message.request_id else {}
    with structlog.contextvars.bound_contextvars(**context):
        if message.lease_until <= utcnow():
            # Another sender may own the row by now, and otherwise the next claim takes it.
            _log_lease_lost(message)
            return False
        try:
            graph_message_id = await transport.send(message)
        except SendError as error:
            if error.code == OUTSIDE_WINDOW_CODE and message.template_body is not None:
                return await _record_template_fallback(writer, message, error)
            return await _record_failure(settings, writer, message, without_template(error))
        except Exception as exc:
            logger.exception(
                "outbox.send_crashed",
                outbox_message_id=str(message.id),
                store_id=str(message.store_id),
                transport=transport.name,
            )
            unexpected = SendError(f"unexpected {type(exc).__name__} while sending", retryable=True)
            return await _record_failure(settings, writer, message, unexpected)
        return await _record_sent(writer, message, graph_message_id)


async def _record_sent(
    writer: _ResultWriter,
    message: OutgoingMessage,
    graph_message_id: str,
) -> bool:
    values = {
        "status": OutboxStatus.SENT.value,
        "attempts": message.attempts + 1,
        "graph_message_id": graph_message_id,
        "sent_at": utcnow(),
        "error_code": None,
        "error_message": None,
    }
    # Counted before recording: the attempt happened even if the result cannot be written.
    WHATSAPP_SENDS.labels(result="sent", error_code="none").inc()
    if not await writer.record(message, values):
        return False
    logger.info(
        "outbox.sent",
        outbox_message_id=str(message.id),
        store_id=str(message.store_id),
        graph_message_id=graph_message_id,
        attempts=message.attempts + 1,
    )
    return True


async def _record_failure(
    settings: Settings,
    writer: _ResultWriter,
    message: OutgoingMessage,
    error: SendError,
) -> bool:
    attempts = message.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "error_code": error.code,
        "error_message": error.message,
    }
    retry = error.retryable and attempts < settings.outbox_max_attempts
    delay = retry_delay_seconds(settings, attempts)
    if retry:
        values["next_attempt_at"] = utcnow() + timedelta(seconds=delay)
    else:
        values["status"] = OutboxStatus.FAILED.value
    WHATSAPP_SENDS.labels(
        result="retry" if retry else "failed",
        error_code=str(error.code) if error.code is not None else "none",
    ).inc()
    if not await writer.record(message, values):
        return False
    log_fields = {
        "outbox_message_id": str(message.id),
        "store_id": str(message.store_id),
        "error_code": error.code,
        "error": error.message,
        "attempts": attempts,
    }
    if retry:
        logger.warning("outbox.retry_scheduled", retry_in_seconds=round(delay, 3), **log_fields)
    else:
        logger.error("outbox.failed", retryable=error.retryable, **log_fields)
    return True


async def _record_template_fallback(
    writer: _ResultWriter,
    message: OutgoingMessage,
    error: SendError,
) -> bool:
    """Make the store's template the row's body, due at once, after a window refusal."""
    assert message.template_body is not None
    values: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "body": message.template_body,
        "error_code": error.code,
        "error_message": f"{error.message}. The store's update template goes out instead.",
        "next_attempt_at": utcnow(),
    }
    WHATSAPP_SENDS.labels(result="retry", error_code=str(error.code)).inc()
    if not await writer.record(message, values):
        return False
    logger.warning(
        "outbox.template_fallback",
        outbox_message_id=str(message.id),
        store_id=str(message.store_id),
        error_code=error.code,
        attempts=message.attempts + 1,
    )
    return True


class _ResultWriter:
    """Write the send results of one batch, many rows per transaction.

    A result that arrives while another transaction is being written waits for it, then
    goes out with every result queued meanwhile. A batch so costs a few commits instead of
    one per message. Each row is still updated only if this sender holds its lease.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._queued: list[tuple[OutgoingMessage, dict[str, Any], asyncio.Future[bool]]] = []
        self._lock = asyncio.Lock()

    async def record(self, message: OutgoingMessage, values: dict[str, Any]) -> bool:
        """Write a send result and release the lease; False when the lease was lost."""
        written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((message, values, written))
        async with self._lock:
            if not written.done():
                queued, self._queued = self._queued, []
                try:
                    await self._write(queued)
                finally:
                    # A cancelled write leaves its rows leased, so they are sent again later.
                    for _, _, other in queued:
                        if not other.done():
                            other.set_result(False)
        return written.result()

    async def _write(
        self, queued: list[tuple[OutgoingMessage, dict[str, Any], asyncio.Future[bool]]]
    ) -> None:
        counts: list[int] = []
        try:
            async with self._session_factory() as session, session.begin():
                for message, values, _ in queued:
                    result = await session.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.id == message.id,
                            OutboxMessage.status == OutboxStatus.PENDING.value,
                            OutboxMessage.locked_until == message.lease_until,
                        )
                        .values(**values, locked_until=None)
                        .execution_options(synchronize_session=False)
                    )
                    counts.append(getattr(result, "rowcount", 0))
        except Exception:
            # The leases stay on the rows, so they are sent again once the leases end.
            for message, _, written in queued:
                logger.exception(
                    "outbox.record_failed",
                    outbox_message_id=str(message.id),
                    store_id=str(message.store_id),
                )
                written.set_result(False)
            return
        for (message, _, written), count in zip(queued, counts, strict=True):
            if count != 1:
                _log_lease_lost(message)
            written.set_result(count == 1)


def _log_lease_lost(message: OutgoingMessage) -> None:
    logger.warning(
        "outbox.lease_lost",
        outbox_message_id=str(message.id),
        store_id=str(message.store_id),
        lease_until=message.lease_until.isoformat(),
    )


def retry_delay_seconds(settings: Settings, attempts: int) -> float:
    """Return the wait before the next attempt: exponential backoff, capped, with jitter.

    The delay doubles from ``outbox_backoff_base_seconds`` up to
    ``outbox_backoff_max_seconds``. A random factor between 0.5 and 1 spreads out the
    senders that hit one rate limit together.
    """
    exponent = min(max(attempts - 1, 0), MAX_BACKOFF_EXPONENT)
    delay = min(
        settings.outbox_backoff_base_seconds * 2.0**exponent,
        settings.outbox_backoff_max_seconds,
    )
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
