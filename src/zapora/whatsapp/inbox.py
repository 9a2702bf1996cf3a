"""Store a verified webhook delivery: customers, each inbound message once, statuses."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard, TypeVar

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    Boolean,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

from zapora.customers.models import Customer
from zapora.customers.schemas import ContactDetails
from zapora.customers.service import (
    refresh_on_conflict,
    stored_profile_name,
    stored_user_id,
    upsert_customer,
)
from zapora.db import utcnow
from zapora.observability.logging import mask_phone
from zapora.observability.metrics import WEBHOOK_EVENTS
from zapora.stores.models import Store
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.whatsapp.payloads import (
    ChangeValue,
    Contact,
    MessageHeader,
    SingleMessage,
    StatusEvent,
    WebhookPayload,
    parse_timestamp,
    read_single_message,
    to_webhook_payload,
)
from zapora.whatsapp.statuses import apply_statuses

logger = structlog.get_logger(__name__)

# Types stored as processed without calling the conversation engine. A reply to a reaction
# or a sticker would only add noise, and system or unsupported messages contain nothing to act on.
SILENT_TYPES = frozenset({"reaction", "sticker", "system", "unsupported", "unknown"})
MESSAGE_ID_MAX_LENGTH = 255
WA_ID_MAX_LENGTH = 32
TYPE_MAX_LENGTH = 32
# Message types and statuses of the Cloud API webhook. Others are counted as "other", so that
# a sender cannot add time series to the events metric.
MESSAGE_KINDS = frozenset(
    {
        "text",
        "interactive",
        "button",
        "location",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "reaction",
        "contacts",
        "order",
        "system",
        "unsupported",
        "unknown",
        "request_welcome",
    }
)
STATUS_KINDS = frozenset({"sent", "delivered", "read", "failed"})
STORE_ATTEMPTS = 4
RETRY_DELAY_SECONDS = 0.05
# PostgreSQL aborts a transaction with these SQLSTATEs (serialization failure, deadlock
# detected) when it collides with a concurrent one, and running it again normally succeeds.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass
class StoredDelivery:
    """Counts of one webhook delivery, and the ids of the stored messages still to process."""

    pending_ids: list[uuid.UUID] = field(default_factory=list)
    messages_stored: int = 0
    duplicates: int = 0
    statuses_applied: int = 0


@dataclass(frozen=True)
class _Received:
    store_id: uuid.UUID
    header: MessageHeader
    wa_id: str
    payload: dict[str, Any]
    sent_at: datetime
    contact: Contact | None


async def store_delivery(
    session: AsyncSession, payload: WebhookPayload, *, wake_workers: bool = False
) -> StoredDelivery:
    """Upsert the senders, insert new messages and apply statuses; flush, never commit.

    Each message is inserted with ``ON CONFLICT (message_id) DO NOTHING``, so a redelivery,
    even one arriving at the same moment on another replica, stores nothing twice and
    returns no id to process. With ``wake_workers``, on PostgreSQL, a new message to
    process also wakes the workers that listen for one when the transaction commits.
    """
    return await _store_values(session, list(_message_changes(payload)), wake_workers)


async def _store_values(
    session: AsyncSession, values: list[ChangeValue], wake_workers: bool
) -> StoredDelivery:
    result = StoredDelivery()
    received: list[_Received] = []
    statuses: list[tuple[uuid.UUID, StatusEvent]] = []
    store_ids: dict[str, uuid.UUID | None] = {}
    for value in values:
        assert value.metadata is not None
        store_id = await _find_store(session, value.metadata.phone_number_id, store_ids)
        if store_id is None:
            continue
        for raw_status in value.statuses:
            event = _validate_item(StatusEvent, raw_status, "status")
            if event is None:
                continue
            _count_event("status", event.status, STATUS_KINDS)
            statuses.append((store_id, event))
        received.extend(_read_messages(store_id, value))
    result.statuses_applied = await apply_statuses(session, statuses)

    customer_ids = await _upsert_senders(session, received)
    for item in received:
        _count_event("message", item.header.type, MESSAGE_KINDS)
        customer_id = customer_ids[(item.store_id, item.wa_id)]
        inbound_id = await _insert_message(session, item, customer_id, notify=wake_workers)
        if inbound_id is None:
            result.duplicates += 1
            logger.info("webhook.message_duplicate", message_id=item.header.id)
            continue
        result.messages_stored += 1
        if item.header.type not in SILENT_TYPES:
            result.pending_ids.append(inbound_id)
        logger.info(
            "webhook.message_stored",
            inbound_id=str(inbound_id),
            store_id=str(item.store_id),
            customer_id=str(customer_id),
            type=item.header.type[:TYPE_MAX_LENGTH],
        )
    return result


async def commit_delivery(
    session_factory: async_sessionmaker[AsyncSession],
    document: Any,
    *,
    wake_workers: bool = True,
) -> StoredDelivery:
    """Store a decoded webhook body in a transaction of its own and commit it.

    ``wake_workers`` is passed to :func:`store_delivery`. A body of an unexpected shape
    stores nothing. On PostgreSQL a delivery of one message and nothing else is stored by
    one statement that finds the store, upserts the sender and inserts the message,
    committed on its own. That is one round trip in place of five (BEGIN, store, sender,
    message, COMMIT). A transaction that PostgreSQL aborts as a deadlock or serialization
    failure is run again, up to ``STORE_ATTEMPTS`` times in all, after a short random
    pause. After the last attempt the error propagates and the webhook returns 500. Meta
    redelivers a webhook that does not get a 200, while a 200 without the rows would lose
    the delivery for good.
    """
    engine: AsyncEngine | None = session_factory.kw.get("bind")
    single = None
    if engine is not None and engine.dialect.name == "postgresql":
        single = _single_message(document)
    values: list[ChangeValue] = []
    if single is None:
        payload = to_webhook_payload(document)
        if payload is None:
            return StoredDelivery()
        values = list(_message_changes(payload))
    attempt = 1
    while True:
        try:
            if single is not None:
                assert engine is not None
                return await _commit_single_message(engine, single, notify=wake_workers)
            async with session_factory() as session:
                delivery = await _store_values(session, values, wake_workers)
                await session.commit()
            return delivery
        except (DBAPIError, asyncpg.PostgresError) as error:
            sqlstate = _sqlstate(error)
            if sqlstate not in _RETRYABLE_SQLSTATES or attempt >= STORE_ATTEMPTS:
                raise
            # NOTE: the events of a retried delivery are counted in WEBHOOK_EVENTS again.
            logger.warning("webhook.store_retried", attempt=attempt, sqlstate=sqlstate)
            delay = RETRY_DELAY_SECONDS * 2**attempt * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            await asyncio.sleep(delay)
            attempt += 1


def _sqlstate(error: Exception) -> str | None:
    # SQLAlchemy wraps the driver's error; the single-message statement raises it directly.
    sqlstate: str | None = getattr(getattr(error, "orig", error), "sqlstate", None)
    return sqlstate


def _count_event(category: str, kind: str, known: frozenset[str]) -> None:
    WEBHOOK_EVENTS.labels(kind=f"{category}.{kind if kind in known else 'other'}").inc()


def _message_changes(payload: WebhookPayload) -> Iterator[ChangeValue]:
    for entry in payload.entry:
        for change in entry.changes:
            if change.field != "messages" or change.value is None:
                logger.info("webhook.change_ignored", field=(change.field or "")[:64])
                continue
            value = _validate_item(ChangeValue, change.value, "change")
            if value is None:
                continue
            if value.metadata is None:
                logger.warning("webhook.change_without_metadata")
                continue
            yield value


async def _find_store(
    session: AsyncSession, phone_number_id: str, cache: dict[str, uuid.UUID | None]
) -> uuid.UUID | None:
    if phone_number_id not in cache:
        cache[phone_number_id] = await session.scalar(
            select(Store.id).where(Store.whatsapp_phone_number_id == phone_number_id)
        )
        if cache[phone_number_id] is None:
            logger.warning("webhook.unknown_phone_number", phone_number_id=phone_number_id[:64])
    return cache[phone_number_id]


def _validate_item(model: type[_Model], raw: Any, kind: str) -> _Model | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        logger.warning("webhook.item_skipped", kind=kind, errors=exc.error_count())
        return None


def _read_messages(store_id: uuid.UUID, value: ChangeValue) -> Iterator[_Received]:
    contacts: dict[str, Contact] = {}
    for raw_contact in value.contacts:
        contact = _validate_item(Contact, raw_contact, "contact")
        if contact is not None and contact.wa_id:
            contacts[contact.wa_id] = contact
    for raw_message in value.messages:
        header = _validate_item(MessageHeader, raw_message, "message")
        if header is None:
            continue
        wa_id = header.from_
        # NOTE: a sender who hides their number behind a username has no "from". Customers
        # are keyed on wa_id, so such messages are acknowledged but not stored.
        if not _storable_ids(wa_id, header.id):
            logger.warning(
                "webhook.message_skipped",
                store_id=str(store_id),
                wa_id=mask_phone((wa_id or "")[:WA_ID_MAX_LENGTH]),
                reason="missing, oversized or malformed sender or message id",
            )
            continue
        yield _Received(
            store_id=store_id,
            header=header,
            wa_id=wa_id,
            payload=raw_message,
            sent_at=parse_timestamp(header.timestamp) or utcnow(),
            contact=contacts.get(wa_id),
        )


async def _upsert_senders(
    session: AsyncSession, received: list[_Received]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    details: dict[tuple[uuid.UUID, str], ContactDetails] = {}
    for item in received:
        key = (item.store_id, item.wa_id)
        previous = details.get(key)
        contact = item.contact
        last_message_at = item.sent_at
        if previous is not None and previous.last_message_at is not None:
            last_message_at = max(previous.last_message_at, item.sent_at)
        details[key] = ContactDetails(
            wa_id=item.wa_id,
            profile_name=contact.profile.name if contact and contact.profile else None,
            business_scoped_user_id=(contact.user_id if contact else None)
            or item.header.from_user_id,
            last_message_at=last_message_at,
        )
    customer_ids = {}
    # Upserting in a fixed order takes the customer row locks in the same order in every
    # delivery, so two deliveries naming the same customers do not deadlock each other.
    for key in sorted(details, key=lambda pair: (str(pair[0]), pair[1])):
        customer_ids[key] = await upsert_customer(session, key[0], details[key])
    return customer_ids


# Workers LISTEN on this channel to process new messages without waiting for their poll.
INBOX_CHANNEL = "zapora_inbox"


def _insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(InboundMessage)
    return sqlite.insert(InboundMessage)


async def _insert_message(
    session: AsyncSession, item: _Received, customer_id: uuid.UUID, *, notify: bool
) -> uuid.UUID | None:
    now = utcnow()
    silent = item.header.type in SILENT_TYPES
    statement = (
        _insert(session)
        .values(
            id=uuid.uuid4(),
            store_id=item.store_id,
            message_id=item.header.id,
            wa_id=item.wa_id,
            customer_id=customer_id,
            type=item.header.type[:TYPE_MAX_LENGTH],
            payload=item.payload,
            sent_at=item.sent_at,
            received_at=now,
            status=(InboxStatus.PROCESSED if silent else InboxStatus.PENDING).value,
            attempts=0,
            next_attempt_at=now,
            processed_at=now if silent else None,
        )
        .on_conflict_do_nothing(index_elements=[InboundMessage.message_id])
        .returning(InboundMessage.id)
    )
    if notify and not silent and session.get_bind().dialect.name == "postgresql":
        # RETURNING runs for inserted rows only, so a duplicate wakes no worker, and this
        # saves a round trip. PostgreSQL delivers the notification at COMMIT, drops it on
        # rollback and folds repeats within one transaction.
        statement = statement.returning(func.pg_notify(INBOX_CHANNEL, ""))
    inbound_id: uuid.UUID | None = (await session.execute(statement)).scalar_one_or_none()
    return inbound_id


def _storable_ids(wa_id: str | None, message_id: str) -> TypeGuard[str]:
    """Return whether a message's sender and id are valid for storing and replying.

    A WhatsApp id is a phone number in ASCII digits. Other digits, such as Arabic-Indic
    ones, pass ``str.isdigit`` but are no number the Graph API can send to.
    """
    if not wa_id or len(wa_id) > WA_ID_MAX_LENGTH or not (wa_id.isascii() and wa_id.isdigit()):
        return False
    return 0 < len(message_id) <= MESSAGE_ID_MAX_LENGTH


def _single_message(document: Any) -> SingleMessage | None:
    """Return the message of a delivery of one storable message and nothing else.

    None for any other delivery, and for a message that would be skipped, so that the
    general path handles and logs it as usual.
    """
    single = read_single_message(document)
    if single is None or not _storable_ids(single.from_, single.id):
        return None
    return single


def _single_message_statement() -> Select[Any]:
    """Build the statement that stores one message: store lookup, sender upsert, insert.

    Built once: each delivery only binds its values. The sender is upserted even when the
    message is a redelivery, as in the general path, and no row comes back for an unknown
    phone number id. The notification is sent only when the message was inserted and needs
    processing, and PostgreSQL delivers it at the commit.
    """
    columns = Customer.__table__.c
    store = (
        select(Store.id.label("id"))
        .where(Store.whatsapp_phone_number_id == bindparam("phone_number_id"))
        .cte("store")
    )
    now = bindparam("now", type_=columns.created_at.type)
    customer_insert = postgresql.insert(Customer).from_select(
        [
            "id",
            "store_id",
            "wa_id",
            "profile_name",
            "business_scoped_user_id",
            "last_message_at",
            "created_at",
            "updated_at",
        ],
        select(
            bindparam("customer_id", type_=columns.id.type),
            store.c.id,
            bindparam("wa_id", type_=columns.wa_id.type),
            bindparam("profile_name", type_=columns.profile_name.type),
            bindparam("business_scoped_user_id", type_=columns.business_scoped_user_id.type),
            bindparam("sent_at", type_=columns.last_message_at.type),
            now,
            now,
        ),
    )
    customer = (
        customer_insert.on_conflict_do_update(
            index_elements=[Customer.store_id, Customer.wa_id],
            set_=refresh_on_conflict(customer_insert.excluded, customer_insert.excluded.updated_at),
        )
        .returning(Customer.id, Customer.store_id)
        .cte("customer")
    )
    inbox = InboundMessage.__table__.c
    message = (
        postgresql.insert(InboundMessage)
        .from_select(
            [
                "id",
                "store_id",
                "message_id",
                "wa_id",
                "customer_id",
                "type",
                "payload",
                "sent_at",
                "received_at",
                "status",
                "attempts",
                "next_attempt_at",
                "processed_at",
            ],
            select(
                bindparam("inbound_id", type_=inbox.id.type),
                customer.c.store_id,
                bindparam("message_id", type_=inbox.message_id.type),
                bindparam("wa_id", type_=inbox.wa_id.type),
                customer.c.id,
                bindparam("type", type_=inbox.type.type),
                # Sent as JSON text, serialised before the statement runs.
                cast(bindparam("payload", type_=String), inbox.payload.type),
                bindparam("sent_at", type_=inbox.sent_at.type),
                now,
                bindparam("status", type_=inbox.status.type),
                literal(0),
                now,
                bindparam("processed_at", type_=inbox.processed_at.type),
            ),
        )
        .on_conflict_do_nothing(index_elements=[InboundMessage.message_id])
        .returning(InboundMessage.id)
        .cte("message")
    )
    wake = case(
        (
            and_(message.c.id.is_not(None), bindparam("notify", type_=Boolean)),
            func.pg_notify(INBOX_CHANNEL, ""),
        ),
    )
    return select(
        store.c.id.label("store_id"),
        customer.c.id.label("customer_id"),
        message.c.id.label("inbound_id"),
        wake.label("woken"),
    ).select_from(store.outerjoin(customer, true()).outerjoin(message, true()))


_SINGLE_MESSAGE = _single_message_statement()
# The statement compiled on first use for the engine's dialect. Its ``positiontup`` lists the
# parameter names in the order of the placeholders.
_compiled_single: SQLCompiler | None = None


def _single_message_sql(engine: AsyncEngine) -> SQLCompiler:
    global _compiled_single
    if _compiled_single is None or _compiled_single.dialect is not engine.dialect:
        compiled = _SINGLE_MESSAGE.compile(dialect=engine.dialect)
        assert isinstance(compiled, SQLCompiler)
        _compiled_single = compiled
    return _compiled_single


async def _commit_single_message(
    engine: AsyncEngine, single: SingleMessage, *, notify: bool
) -> StoredDelivery:
    """Store one message with one statement, committed on its own before returning.

    The statement runs on the driver's connection, taken from the engine's pool, because it
    needs none of what SQLAlchemy's execution adds (a transaction, result processing).
    Skipping that saves roughly a quarter of a millisecond of CPU time per delivery.
    """
    result = StoredDelivery()
    silent = single.type in SILENT_TYPES
    assert single.from_ is not None
    details = ContactDetails(
        wa_id=single.from_,
        profile_name=single.profile_name,
        business_scoped_user_id=single.contact_user_id or single.from_user_id,
    )
    now = utcnow()
    inbound_id = uuid.uuid4()
    compiled = _single_message_sql(engine)
    parameters = compiled.construct_params(
        {
            "phone_number_id": single.phone_number_id,
            "customer_id": uuid.uuid4(),
            "wa_id": single.from_,
            "profile_name": stored_profile_name(details),
            "business_scoped_user_id": stored_user_id(details),
            "sent_at": parse_timestamp(single.timestamp) or now,
            "now": now,
            "inbound_id": inbound_id,
            "message_id": single.id,
            "type": single.type[:TYPE_MAX_LENGTH],
            # The serialiser SQLAlchemy uses for JSON columns, so that values orjson rejects
            # or changes (integers beyond 64 bits, infinities) are written as in the general path.
            "payload": json.dumps(single.message),
            "status": (InboxStatus.PROCESSED if silent else InboxStatus.PENDING).value,
            "processed_at": now if silent else None,
            "notify": notify and not silent,
        }
    )
    assert compiled.positiontup is not None
    arguments = [parameters[name] for name in compiled.positiontup]
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            # Without a transaction the statement commits on its own, with no BEGIN and COMMIT.
            row = await driver.fetchrow(compiled.string, *arguments)
        except asyncpg.PostgresError:
            # The server rejected the statement, and the connection is still usable.
            raise
        except BaseException:
            # A broken connection, or one whose statement a cancellation cut off, must not go
            # back to the pool, where the next request would find it still busy.
            await connection.invalidate()
            raise

    if row is None:
        logger.warning("webhook.unknown_phone_number", phone_number_id=single.phone_number_id[:64])
        return result
    _count_event("message", single.type, MESSAGE_KINDS)
    if row["inbound_id"] is None:
        result.duplicates += 1
        logger.info("webhook.message_duplicate", message_id=single.id)
        return result

    result.messages_stored += 1
    if not silent:
        result.pending_ids.append(inbound_id)
    logger.info(
        "webhook.message_stored",
        inbound_id=str(inbound_id),
        store_id=str(row["store_id"]),
        customer_id=str(row["customer_id"]),
        type=single.type[:TYPE_MAX_LENGTH],
    )
    return result
