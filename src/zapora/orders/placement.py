"""Place an order: price it, number it, store it with its first event."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
import structlog
from sqlalchemy import Engine, Insert, bindparam, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import SessionTransaction

from zapora.audit.service import AUDIT_LOG, Actor, entry_row
from zapora.db import discard_closed_connections, utcnow
from zapora.driver_sql import DriverStatement
from zapora.errors import InvalidInputError
from zapora.observability.commit_metrics import increment_on_commit
from zapora.observability.metrics import ORDERS_PLACED
from zapora.orders.errors import BelowMinimumOrderError, EmptyOrderError, StoreClosedError
from zapora.orders.models import (
    ActorType,
    Fulfilment,
    Order,
    OrderCounter,
    OrderSource,
    OrderStatus,
    PaymentMethod,
)
from zapora.orders.pricing import (
    DeliveryTerms,
    LineRequest,
    PricedLine,
    delivery_terms,
    price_lines,
)
from zapora.orders.writes import Row, write_order
from zapora.stores.hours_service import store_status
from zapora.stores.models import Store
from zapora.stores.terms_cache import terms_cache_of

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class OrderDraft:
    lines: Sequence[LineRequest]
    fulfilment: Fulfilment
    payment_method: PaymentMethod
    source: OrderSource
    change_for: int | None = None
    address_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    notes: str | None = None
    customer_id: uuid.UUID | None = None
    customer_name: str | None = None
    customer_phone: str | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: int
    delivery_fee: int

    @property
    def total(self) -> int:
        return self.subtotal + self.delivery_fee


# Fields of a new order kept in the audit log, which leave out the customer's details.
PLACED_ORDER_FIELDS = (
    "number",
    "status",
    "source",
    "fulfilment",
    "payment_method",
    "currency",
    "total",
)


@dataclass(frozen=True)
class PlacementAudit:
    """The audit entry of a placement: its action and who placed the order."""

    action: str
    actor: Actor

    def row(self, store_id: uuid.UUID, order_row: dict[str, Any]) -> Row:
        return (
            AUDIT_LOG,
            entry_row(
                action=self.action,
                actor=self.actor,
                store_id=store_id,
                target_type="order",
                target_id=order_row["id"],
                after={name: order_row[name] for name in PLACED_ORDER_FIELDS},
            ),
        )


def compute_totals(lines: Sequence[PricedLine], terms: DeliveryTerms) -> Totals:
    subtotal = sum(line.line_total for line in lines)
    return Totals(subtotal=subtotal, delivery_fee=terms.fee)


# Amount columns are 32-bit integers on every backend.
MAX_ORDER_TOTAL = 2_000_000_000


def check_total_in_range(total: int) -> None:
    if total > MAX_ORDER_TOTAL:
        raise InvalidInputError(
            f"The order total {total} exceeds the maximum of {MAX_ORDER_TOTAL} minor units.",
            field="lines",
            fix="split the order into smaller orders or lower the quantities",
        )


def check_minimum(store: Store, subtotal: int, terms: DeliveryTerms) -> None:
    """Raise BelowMinimumOrderError under the minimum: the zone's one, else the store's."""
    minimum = terms.minimum_order
    if subtotal >= minimum:
        return
    where = f"the zone '{terms.zone.name}'" if terms.zone else "the store"
    extra: dict[str, object] = {"minimum_order": minimum, "subtotal": subtotal}
    if terms.zone is not None:
        extra["delivery_zone"] = terms.zone.name
    raise BelowMinimumOrderError(
        f"The subtotal {subtotal} is below the minimum order of {where}, {minimum} "
        f"({store.currency} minor units).",
        field="lines",
        fix="add items until the subtotal reaches the minimum",
        extra=extra,
    )


def _check_fulfilment(draft: OrderDraft) -> None:
    if draft.fulfilment is not Fulfilment.DELIVERY:
        return
    has_pin = draft.latitude is not None and draft.longitude is not None
    if (draft.latitude is None) != (draft.longitude is None):
        raise InvalidInputError(
            "A location needs both latitude and longitude.",
            field="latitude" if draft.latitude is None else "longitude",
            fix="send both coordinates or neither",
        )
    if not has_pin and not (draft.address_text and draft.address_text.strip()):
        raise InvalidInputError(
            "A delivery order needs an address or a location.",
            field="address_text",
            fix="send address_text, or latitude and longitude",
        )


def _check_payment(draft: OrderDraft, total: int) -> None:
    if draft.change_for is None:
        return
    if draft.payment_method is not PaymentMethod.CASH:
        raise InvalidInputError(
            "Change is only given for cash payments.",
            field="change_for",
            fix="leave change_for out or pay in cash",
        )
    if draft.change_for < total:
        raise InvalidInputError(
            f"Change for {draft.change_for} is less than the total {total}.",
            field="change_for",
            fix="send an amount at least equal to the total, or leave it out",
        )


def _zone_fields(terms: DeliveryTerms, placed_at: datetime) -> dict[str, object]:
    """Copy the delivery terms onto the order, so later zone edits leave it unchanged."""
    estimate = terms.estimate_minutes
    return {
        "delivery_zone_id": terms.zone.id if terms.zone else None,
        "delivery_zone_name": terms.zone.name if terms.zone else None,
        "zone_minimum_order": terms.minimum_order if terms.zone else None,
        "estimate_minutes": estimate,
        "estimated_delivery_at": placed_at + timedelta(minutes=estimate) if estimate else None,
        "fee_pending": terms.fee_pending,
    }


def _order_row(
    order_id: uuid.UUID,
    store: Store,
    draft: OrderDraft,
    totals: Totals,
    terms: DeliveryTerms,
    placed_at: datetime,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "store_id": store.id,
        "customer_id": draft.customer_id,
        "customer_name": draft.customer_name,
        "customer_phone": draft.customer_phone,
        "source": draft.source.value,
        "status": OrderStatus.PLACED.value,
        "fulfilment": draft.fulfilment.value,
        "address_text": draft.address_text,
        "latitude": draft.latitude,
        "longitude": draft.longitude,
        "payment_method": draft.payment_method.value,
        "change_for": draft.change_for,
        "notes": draft.notes,
        "currency": store.currency,
        "subtotal": totals.subtotal,
        "delivery_fee": totals.delivery_fee,
        "total": totals.total,
        "tracking_token": secrets.token_urlsafe(24),
        "placed_at": placed_at,
        "created_at": placed_at,
        "updated_at": placed_at,
        **_zone_fields(terms, placed_at),
    }


def _line_rows(
    order_id: uuid.UUID, store_id: uuid.UUID, priced: Sequence[PricedLine]
) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "order_id": order_id,
            "store_id": store_id,
            "position": position,
            "item_id": line.item_id,
            "name": line.name,
            "unit_price": line.unit_price,
            "quantity": line.quantity,
            "line_total": line.line_total,
            "options": line.options,
            "notes": line.notes,
        }
        for position, line in enumerate(priced)
    ]


def _first_event_row(
    order_id: uuid.UUID,
    store_id: uuid.UUID,
    actor_type: ActorType,
    actor_id: uuid.UUID | None,
    placed_at: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "order_id": order_id,
        "store_id": store_id,
        "from_status": None,
        "to_status": OrderStatus.PLACED.value,
        "actor_type": actor_type.value,
        "actor_id": actor_id,
        "reason": None,
        "created_at": placed_at,
    }


# On PostgreSQL each order number is taken by an upsert committed on a connection of its own,
# so the counter's row stays locked for that statement only, not until the order commits.
#
# Those commits skip the wait for the disk (synchronous_commit off). This is safe because
# the order is written after its number was committed, and the order's own commit flushes
# the write-ahead log up to its commit record, so up to the number's commit as well. A crash
# can therefore lose a number only together with every order that used it, and no stored
# order keeps a number that the counter then hands out again. Replicas receive the log in
# the same order, so this is also true after a failover.
#
# A number is spent even when the order's transaction fails afterwards (a lost connection,
# a failed commit, a cancelled request), so a store's numbers can have gaps. They stay
# unique per store, which the (store_id, number) constraint also enforces.
#
# These connections have a pool of their own. A request keeps its session's connection
# while it waits for a numbering connection, so with a shared pool every connection could
# end up held by a request that waits for another one. The pool opens connections as orders
# need them and keeps them all, without overflow connections: those are closed after each
# use, so at busy times they would open a new connection for almost every order.
NUMBERING_POOL_SIZE = 8
NUMBERING_MAX_OVERFLOW = 0
NUMBERING_POOL_TIMEOUT_SECONDS = 5
# A numbering statement that waits longer than this for a lock gives up, and the order's
# own transaction takes the number instead. A store's first number inserts its counter, and
# the foreign key check waits while another transaction has locked the store's row FOR
# UPDATE. The order's own transaction may also hold the counter's row, which a separate
# connection would wait for forever.
NUMBERING_LOCK_TIMEOUT = "2s"

_numbering_engines: WeakKeyDictionary[Engine, AsyncEngine] = WeakKeyDictionary()
# Per transaction, the stores whose counter row it locked by taking a number itself. Later
# numbers for those stores are taken in it too, because a separate connection would wait.
_numbered_in_transaction: WeakKeyDictionary[SessionTransaction, set[uuid.UUID]] = (
    WeakKeyDictionary()
)


def _dispose_numbering_engine(engine: Engine) -> None:
    numbering = _numbering_engines.pop(engine, None)
    if numbering is not None:
        # Engine.dispose runs inside the async engine's greenlet, so a blocking call works.
        numbering.sync_engine.dispose()


def _numbering_engine(engine: Engine) -> AsyncEngine:
    """Return the autocommit engine that numbers orders for ``engine``'s database."""
    numbering = _numbering_engines.get(engine)
    if numbering is None:
        numbering = create_async_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=NUMBERING_POOL_SIZE,
            max_overflow=NUMBERING_MAX_OVERFLOW,
            pool_timeout=NUMBERING_POOL_TIMEOUT_SECONDS,
            connect_args={
                "server_settings": {
                    "synchronous_commit": "off",
                    "lock_timeout": NUMBERING_LOCK_TIMEOUT,
                    "application_name": "zapora-order-numbers",
                }
            },
        )
        discard_closed_connections(numbering)
        _numbering_engines[engine] = numbering
        if not event.contains(engine, "engine_disposed", _dispose_numbering_engine):
            event.listen(engine, "engine_disposed", _dispose_numbering_engine)
    return numbering


def _number_statement(dialect_name: str) -> Insert:
    """Build the statement that takes a store's next number, creating its counter at 1."""
    insert = sqlite_insert if dialect_name == "sqlite" else postgresql_insert
    statement = insert(OrderCounter).values(store_id=bindparam("store_id"), last_number=1)
    return statement.on_conflict_do_update(
        index_elements=[OrderCounter.store_id],
        set_={"last_number": OrderCounter.last_number + 1},
    ).returning(OrderCounter.last_number)


_NEXT_NUMBER = {name: _number_statement(name) for name in ("postgresql", "sqlite")}
_NEXT_NUMBER_DRIVER = DriverStatement(_NEXT_NUMBER["postgresql"])


async def _number_in_own_transaction(engine: Engine, store_id: uuid.UUID) -> int | None:
    """Take the number on a numbering connection, or return None when that fails."""
    try:
        async with _numbering_engine(engine).connect() as connection:
            number = await _NEXT_NUMBER_DRIVER.fetchval(connection, {"store_id": store_id})
    except (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        # A lock wait that timed out, a lost connection, a full pool, or a store that the
        # caller created and has not committed yet. A number taken just before the
        # connection was lost stays unused, which leaves a gap.
        logger.warning("order.numbering_fallback", store_id=str(store_id), error=type(exc).__name__)
        return None
    return int(number)


async def next_order_number(session: AsyncSession, store: Store) -> int:
    """Take the store's next order number.

    On PostgreSQL it is committed on a connection of its own (see above). SQLite runs one
    writing transaction at a time, so there, and whenever the separate connection cannot be
    used, the number is taken in the caller's transaction and the counter's row lock lasts
    until that transaction ends. A store's first order creates its counter.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    transaction = session.sync_session.get_transaction()
    locked_here = transaction is not None and store.id in _numbered_in_transaction.get(
        transaction, ()
    )
    number: int | None = None
    if engine.dialect.name == "postgresql" and not locked_here:
        number = await _number_in_own_transaction(engine, store.id)
    if number is None:
        number = await session.scalar(_NEXT_NUMBER[engine.dialect.name], {"store_id": store.id})
        # The statement began a transaction if none was open.
        transaction = session.sync_session.get_transaction()
        if transaction is not None:
            _numbered_in_transaction.setdefault(transaction, set()).add(store.id)
    return int(number)


async def place_order(
    session: AsyncSession,
    store: Store,
    draft: OrderDraft,
    *,
    actor_type: ActorType,
    actor_id: uuid.UUID | None,
    order_id: uuid.UUID | None = None,
    audit: PlacementAudit | None = None,
) -> Order:
    """Validate, price and store a new order in status ``placed``; never commit.

    ``order_id`` is the new order's id when the caller has already stored a row naming it.
    With ``audit`` the audit entry is written together with the order's rows. The returned
    order is in the session, loaded with its lines and first event. The store's opening
    hours and whether it has active zones come from the process's copy (see
    ``zapora.stores.terms_cache``) when the session's factory has one.
    """
    # TODO: COMMIT and the ORM objects built for the response still go through SQLAlchemy,
    # about 5% of an order's CPU time in a py-spy profile, as do hours and zone reads that
    # miss the terms cache. Its other statements run through zapora.driver_sql.
    terms_cache = terms_cache_of(session)
    opening = await store_status(session, store, utcnow(), hours_cache=terms_cache)
    if not opening.open:
        raise StoreClosedError(
            f"{store.name} is closed now.",
            opens_next_at=opening.opens_next_at,
            fix="try again when the store opens, at opens_next_at when it is set",
        )
    if not draft.lines:
        raise EmptyOrderError("The order has no lines.", field="lines", fix="add at least one item")
    _check_fulfilment(draft)
    priced = await price_lines(session, store.id, draft.lines)
    terms = await delivery_terms(
        session,
        store,
        draft.fulfilment,
        draft.latitude,
        draft.longitude,
        terms_cache=terms_cache,
    )
    totals = compute_totals(priced, terms)
    check_total_in_range(totals.total)
    check_minimum(store, totals.subtotal, terms)
    _check_payment(draft, totals.total)

    placed_at = utcnow()
    order_id = order_id or uuid.uuid4()
    order_row = _order_row(order_id, store, draft, totals, terms, placed_at)
    line_rows = _line_rows(order_id, store.id, priced)
    event_row = _first_event_row(order_id, store.id, actor_type, actor_id, placed_at)
    # Numbering comes after every check, so an order refused for its content spends no number.
    order_row["number"] = await next_order_number(session, store)
    more_rows = [] if audit is None else [audit.row(store.id, order_row)]
    order = await write_order(session, order_row, line_rows, event_row, more_rows=more_rows)
    increment_on_commit(session, ORDERS_PLACED, source=draft.source.value)
    logger.info(
        "order.placed",
        order_id=str(order.id),
        store_id=str(store.id),
        number=order.number,
        total=order.total,
    )
    return order
