"""Process stored inbound messages: one transaction each, in the order each customer sent them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.customers.schemas import ContactDetails
from zapora.customers.service import upsert_customer
from zapora.db import utcnow
from zapora.errors import ZaporaError
from zapora.outbox.service import enqueue
from zapora.stores.hours_service import StoreHoursCache
from zapora.stores.models import Store
from zapora.whatsapp.conversation import LoadedConversation, handle_message
from zapora.whatsapp.inbox import SILENT_TYPES
from zapora.whatsapp.models import Conversation, InboundMessage, InboxStatus
from zapora.whatsapp.payloads import to_incoming_message
from zapora.whatsapp.texts import text

logger = structlog.get_logger(__name__)

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 15 * 60.0
LAST_ERROR_MAX_LENGTH = 200
# Bounds how many older messages of one customer a single call catches up on.
MAX_MESSAGES_PER_CALL = 100
# Messages a sweep processes at a time, each in its own session and transaction. The
# customer's row lock keeps each customer's messages in order whatever the concurrency.
SWEEP_CONCURRENCY = 8

SessionFactory = async_sessionmaker[AsyncSession]

_PENDING = InboxStatus.PENDING.value
# Locks the customer of a pending message and reads the message's place in line.
_LOCK_CUSTOMER = (
    select(Customer, InboundMessage.sent_at, InboundMessage.received_at)
    .join(InboundMessage, InboundMessage.customer_id == Customer.id)
    .where(InboundMessage.id == bindparam("target_id"), InboundMessage.status == _PENDING)
    .with_for_update(of=Customer)
)
_target = aliased(InboundMessage)
# Run after the lock. It returns nothing when another worker handled the target meanwhile,
# and otherwise the customer's oldest pending message up to the target (the target itself
# when there is no older one), with the store and the conversation that the bot needs.
_NEXT_IN_LINE = (
    select(InboundMessage, Store, Conversation)
    .join(Store, Store.id == InboundMessage.store_id)
    .outerjoin(
        Conversation,
        and_(
            Conversation.store_id == InboundMessage.store_id,
            Conversation.customer_id == InboundMessage.customer_id,
        ),
    )
    .where(
        select(_target.id)
        .where(_target.id == bindparam("target_id"), _target.status == _PENDING)
        .exists(),
        InboundMessage.customer_id == bindparam("customer_id"),
        InboundMessage.status == _PENDING,
        InboundMessage.id.not_in(bindparam("attempted", expanding=True)),
        or_(
            InboundMessage.sent_at < bindparam("sent_at"),
            and_(
                InboundMessage.sent_at == bindparam("sent_at"),
                InboundMessage.received_at <= bindparam("received_at"),
            ),
        ),
    )
    .order_by(InboundMessage.sent_at, InboundMessage.received_at, InboundMessage.id)
    .limit(1)
    # A message loaded before the lock has its attributes loaded again.
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True)
class _NextInLine:
    message: InboundMessage
    customer: Customer
    store: Store
    conversation: LoadedConversation


@dataclass(frozen=True)
class _Claimed:
    inbound_id: uuid.UUID
    store_id: uuid.UUID
    customer_id: uuid.UUID


async def process_inbound(
    settings: Settings,
    session_factory: SessionFactory,
    inbound_id: uuid.UUID,
    *,
    hours_cache: StoreHoursCache | None = None,
) -> None:
    """Process one stored message, after any older pending message of the same customer.

    Each message is handled in its own transaction while its customer's row is locked, so
    one customer's messages are handled one at a time and in the order they were sent. An
    older message waiting for its next attempt is tried again first, without waiting.
    A failure is recorded on the message, which goes dead after ``inbox_max_attempts``.
    Exceptions are logged and recorded, not raised, because the sweep retries what stays
    pending. ``hours_cache`` shares the stores' opening hours with other messages of the
    same batch.
    """
    attempted: set[uuid.UUID] = set()
    while len(attempted) < MAX_MESSAGES_PER_CALL:
        handled_id = await _process_next(
            settings, session_factory, inbound_id, attempted, hours_cache
        )
        if handled_id is None or handled_id == inbound_id:
            return


async def process_new_messages(
    settings: Settings, session_factory: SessionFactory, inbound_ids: Sequence[uuid.UUID]
) -> None:
    """Process messages a webhook delivery just stored, in the order given."""
    hours_cache = StoreHoursCache()
    for inbound_id in inbound_ids:
        await process_inbound(settings, session_factory, inbound_id, hours_cache=hours_cache)


async def sweep_inbox(
    settings: Settings, session_factory: SessionFactory, *, limit: int = 50
) -> int:
    """Process up to ``limit`` pending messages that are due, oldest first; return the count.

    Up to ``SWEEP_CONCURRENCY`` are processed at a time, so one message's database round
    trips overlap with another's work. Each store's opening hours are read once per sweep,
    so a change of hours applies from the next sweep on.
    """
    async with session_factory() as session:
        due = await session.scalars(
            select(InboundMessage.id)
            .where(
                InboundMessage.status == InboxStatus.PENDING.value,
                InboundMessage.next_attempt_at <= utcnow(),
            )
            .order_by(InboundMessage.sent_at, InboundMessage.received_at)
            .limit(limit)
        )
        inbound_ids = list(due)
    semaphore = asyncio.Semaphore(SWEEP_CONCURRENCY)
    hours_cache = StoreHoursCache()

    async def process(inbound_id: uuid.UUID) -> None:
        async with semaphore:
            await process_inbound(settings, session_factory, inbound_id, hours_cache=hours_cache)

    await asyncio.gather(*(process(inbound_id) for inbound_id in inbound_ids))
    return len(inbound_ids)


def backoff_delay(attempts: int) -> timedelta:
    """Return the wait before the next attempt: 5 s doubled per failure, at most 15 min."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def describe_error(exc: BaseException) -> str:
    """Summarise an exception for ``last_error``: its type and the first line of its message.

    Domain errors give their stable code in place of the message, which may quote input.
    NOTE: for other exceptions the first line is kept, and a library may quote a value there.
    """
    name = type(exc).__name__
    if isinstance(exc, ZaporaError):
        return f"{name}: {exc.code}"
    lines = str(exc).strip().splitlines()
    if not lines:
        return name
    return f"{name}: {lines[0][:LAST_ERROR_MAX_LENGTH]}"


async def _process_next(
    settings: Settings,
    session_factory: SessionFactory,
    target_id: uuid.UUID,
    attempted: set[uuid.UUID],
    hours_cache: StoreHoursCache | None,
) -> uuid.UUID | None:
    """Handle the customer's oldest pending message up to the target; return its id."""
    claimed: _Claimed | None = None
    try:
        async with session_factory() as session:
            next_in_line = await _claim_next(session, target_id, attempted)
            if next_in_line is None:
                return None
            message = next_in_line.message
            claimed = _Claimed(message.id, message.store_id, next_in_line.customer.id)
            attempted.add(message.id)
            await _handle(session, settings, next_in_line, hours_cache)
            await session.commit()
    except Exception as exc:
        if claimed is None:
            logger.exception("inbox.claim_failed", inbound_id=str(target_id))
            return None
        await _record_failure(settings, session_factory, claimed, exc)
        return claimed.inbound_id
    assert claimed is not None
    logger.info(
        "inbox.processed",
        inbound_id=str(claimed.inbound_id),
        store_id=str(claimed.store_id),
        customer_id=str(claimed.customer_id),
    )
    return claimed.inbound_id


async def _claim_next(
    session: AsyncSession, target_id: uuid.UUID, attempted: set[uuid.UUID]
) -> _NextInLine | None:
    if target_id in attempted:
        return None
    locked = (await session.execute(_LOCK_CUSTOMER, {"target_id": target_id})).first()
    if locked is not None:
        customer, sent_at, received_at = locked
    else:
        # The target is gone, handled, or its customer row was deleted.
        target = await session.get(InboundMessage, target_id)
        if target is None or target.status != _PENDING:
            return None
        customer = await _lock_customer(session, target)
        sent_at, received_at = target.sent_at, target.received_at
    row = (
        await session.execute(
            _NEXT_IN_LINE,
            {
                "target_id": target_id,
                "customer_id": customer.id,
                "attempted": list(attempted),
                "sent_at": sent_at,
                "received_at": received_at,
            },
        )
    ).first()
    if row is None:
        return None
    message, store, conversation = row
    return _NextInLine(message, customer, store, LoadedConversation(conversation))


async def _lock_customer(session: AsyncSession, message: InboundMessage) -> Customer:
    if message.customer_id is None:
        # The customer row was deleted after the message was stored: recreate it.
        message.customer_id = await upsert_customer(
            session, message.store_id, ContactDetails(wa_id=message.wa_id)
        )
        await session.flush()
    customer = await session.scalar(
        select(Customer).where(Customer.id == message.customer_id).with_for_update()
    )
    assert customer is not None
    return customer


async def _handle(
    session: AsyncSession,
    settings: Settings,
    next_in_line: _NextInLine,
    hours_cache: StoreHoursCache | None,
) -> None:
    message = next_in_line.message
    if message.type not in SILENT_TYPES:
        incoming = to_incoming_message(
            message.payload,
            message_id=message.message_id,
            message_type=message.type,
            sent_at=message.sent_at,
        )
        await handle_message(
            session,
            settings,
            next_in_line.store,
            next_in_line.customer,
            incoming,
            loaded=next_in_line.conversation,
            hours_cache=hours_cache,
        )
    message.status = InboxStatus.PROCESSED.value
    message.processed_at = utcnow()


async def _record_failure(
    settings: Settings, session_factory: SessionFactory, claimed: _Claimed, exc: Exception
) -> None:
    logger.error(
        "inbox.processing_failed",
        inbound_id=str(claimed.inbound_id),
        store_id=str(claimed.store_id),
        customer_id=str(claimed.customer_id),
        error=type(exc).__name__,
        exc_info=exc,
    )
    try:
        async with session_factory() as session:
            message = await session.scalar(
                select(InboundMessage)
                .where(InboundMessage.id == claimed.inbound_id)
                .with_for_update()
            )
            if message is None or message.status != InboxStatus.PENDING.value:
                return
            message.attempts += 1
            message.last_error = describe_error(exc)
            if message.attempts >= settings.inbox_max_attempts:
                message.status = InboxStatus.DEAD.value
                await _queue_apology(session, message)
            else:
                message.next_attempt_at = utcnow() + backoff_delay(message.attempts)
            await session.commit()
    except Exception:
        logger.exception("inbox.failure_not_recorded", inbound_id=str(claimed.inbound_id))


async def _queue_apology(session: AsyncSession, message: InboundMessage) -> None:
    store = await session.get(Store, message.store_id)
    assert store is not None
    await enqueue(
        session,
        store_id=message.store_id,
        to=message.wa_id,
        body={"type": "text", "text": {"body": text(store.language, "apology")}},
        customer_id=message.customer_id,
    )
    logger.warning(
        "inbox.message_dead",
        inbound_id=str(message.id),
        store_id=str(message.store_id),
        customer_id=str(message.customer_id),
        attempts=message.attempts,
    )
