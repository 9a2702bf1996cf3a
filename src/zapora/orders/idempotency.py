"""Idempotency keys for order creation: a retried request returns the first order.

A key belongs to one store and remembers the SHA-256 of the request body's canonical JSON
and the order it created. The same key with the same body returns that order again, and
with another body it is a 409 ``idempotency_key_reused``. Keys older than their time to
live are expired, so a request may reuse them, and :func:`purge_expired_keys` deletes them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Insert, Table, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor
from zapora.db import utcnow
from zapora.driver_sql import DriverStatement
from zapora.errors import InvalidInputError
from zapora.orders import service
from zapora.orders.errors import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from zapora.orders.models import IdempotencyKey, Order
from zapora.orders.schemas import OrderCreate
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Rounds of storing the key, finding it taken and deleting it because it had expired.
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class CreatedOrder:
    """An order loaded with its lines and events, and whether an earlier request made it."""

    order: Order
    replayed: bool


def validate_key(value: str) -> str:
    """Return the key if it is 1 to 255 printable ASCII characters, else raise 422."""
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in value):
        raise InvalidInputError(
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            field=HEADER,
            fix="send a random value such as a UUID, the same one on every retry",
        )
    return value


def request_hash(request: OrderCreate) -> str:
    """Return the SHA-256 hex digest of the parsed request as canonical JSON."""
    canonical = json.dumps(
        request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_order_idempotently(
    session: AsyncSession,
    store: Store,
    request: OrderCreate,
    *,
    actor: Actor,
    key: str | None,
    key_ttl: timedelta,
) -> CreatedOrder:
    """Create an order, or return the one an earlier request with the same key created.

    Flushes and never commits: the key is stored in the caller's transaction with the
    order, so either both exist or neither does.
    """
    if key is None:
        order = await service.create_order(session, store, request, actor=actor)
        return CreatedOrder(order, replayed=False)

    digest = request_hash(request)
    order_id = uuid.uuid4()
    earlier = await _claim_key(session, store.id, key, digest, order_id, key_ttl)
    if earlier is not None:
        return await _replay(session, earlier, digest)
    # The key is stored already and names this order, which is written next in the same
    # transaction. The order carries its lines and first event, so it is not read back.
    order = await service.create_order(session, store, request, actor=actor, order_id=order_id)
    return CreatedOrder(order, replayed=False)


def _claim_statement(dialect_name: str) -> Insert:
    insert = sqlite_insert if dialect_name == "sqlite" else postgresql_insert
    # On the table rather than the mapped class: a Core INSERT skips the ORM's bulk insert
    # layer. On SQLite the columns' Python defaults fill in the id and created_at.
    table = cast(Table, IdempotencyKey.__table__)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["store_id", "key"])
        .returning(table.c.id)
    )


_CLAIM_STATEMENTS = {name: _claim_statement(name) for name in ("postgresql", "sqlite")}
_CLAIM_DRIVER = DriverStatement(_CLAIM_STATEMENTS["postgresql"])


async def _store_key(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the key unless the store has it already, and return whether it was inserted."""
    if session.get_bind().dialect.name == "postgresql":
        # The id and created_at are Python-side column defaults, which only SQLAlchemy's
        # own execution fills in.
        row = {"id": uuid.uuid4(), "created_at": utcnow(), **values}
        return bool(await _CLAIM_DRIVER.fetch(session, row))
    return await session.scalar(_CLAIM_STATEMENTS["sqlite"], values) is not None


async def _claim_key(
    session: AsyncSession,
    store_id: uuid.UUID,
    key: str,
    digest: str,
    order_id: uuid.UUID,
    key_ttl: timedelta,
) -> IdempotencyKey | None:
    """Store the key for a new order, or return the live key an earlier request stored.

    The key is stored before the order is written. On PostgreSQL a concurrent request with
    the same key waits in this INSERT until the first request's transaction ends: after a
    commit it finds the key and replays its order, after a rollback it stores the key
    itself. So no second order is written, and no order number is spent, for a key that
    is in use. SQLite runs one writing transaction at a time, so there is no such race.
    """
    values = {"store_id": store_id, "key": key, "request_hash": digest, "order_id": order_id}
    for _ in range(CLAIM_ATTEMPTS):
        if await _store_key(session, values):
            return None
        existing = await _find_key(session, store_id, key)
        if existing is None:
            # Deleted after the INSERT saw it, as an expired key: try again.
            continue
        if existing.created_at > utcnow() - key_ttl:
            return existing
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
    logger.warning("order.idempotency_conflict", store_id=str(store_id))
    raise IdempotencyKeyInUseError(
        f"Another request with this {HEADER} was being processed at the same time.",
        field=HEADER,
        fix="retry the request with the same key and body",
    )


async def purge_expired_keys(session: AsyncSession, now: datetime, *, max_age: timedelta) -> int:
    """Delete keys created more than ``max_age`` before ``now`` and return how many."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - max_age)
        ),
    )
    if result.rowcount:
        logger.info("idempotency_keys.purged", count=result.rowcount)
    return result.rowcount


async def _find_key(session: AsyncSession, store_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    return await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.store_id == store_id, IdempotencyKey.key == key)
    )


async def _replay(session: AsyncSession, stored: IdempotencyKey, digest: str) -> CreatedOrder:
    if stored.request_hash != digest:
        raise IdempotencyKeyReusedError(
            f"This {HEADER} was already used with a different request body.",
            field=HEADER,
            fix="send a new key for a different order, or resend the original body",
        )
    order = await service.get_order(session, stored.store_id, stored.order_id)
    logger.info("order.idempotent_replay", order_id=str(order.id), store_id=str(order.store_id))
    return CreatedOrder(order, replayed=True)
