"""Couriers' shifts, positions and current load."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.auth.models import Role, User
from zapora.db import utcnow
from zapora.delivery.models import CourierState, DeliveryOffer, OfferStatus
from zapora.errors import InvalidInputError
from zapora.orders.models import Order, OrderStatus

logger = structlog.get_logger(__name__)

# Device clocks drift, so only a position stamped further ahead than this is rejected.
MAX_CLOCK_SKEW = timedelta(minutes=2)
# A chosen limit: a position older than this is no guide to where the courier is now.
MAX_POSITION_AGE = timedelta(hours=24)
# Orders in these statuses no longer count towards a courier's load.
FINISHED_STATUSES = (
    OrderStatus.DELIVERED.value,
    OrderStatus.DELIVERY_FAILED.value,
    OrderStatus.CANCELLED.value,
    OrderStatus.PICKED_UP.value,
)


@dataclass(frozen=True)
class CourierView:
    user: User
    state: CourierState | None
    load: int


async def ensure_state(session: AsyncSession, courier: User) -> CourierState:
    """Return the courier's state row, creating it on first use.

    Two first requests at once both insert, and ON CONFLICT DO NOTHING lets the second one
    read the first one's row instead of failing.
    """
    assert courier.store_id is not None, "couriers belong to a store"
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CourierState).values(
        user_id=courier.id, store_id=courier.store_id, on_shift=False, updated_at=utcnow()
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["user_id"]))
    state = await session.scalar(
        select(CourierState)
        .where(CourierState.user_id == courier.id)
        .execution_options(populate_existing=True)
    )
    assert state is not None
    return state


async def set_shift(session: AsyncSession, courier: User, on_shift: bool) -> CourierState:
    """Start or end the courier's shift. Ending it passes their open offers to other couriers."""
    state = await ensure_state(session, courier)
    if state.on_shift == on_shift:
        return state
    now = utcnow()
    state.on_shift = on_shift
    state.shift_started_at = now if on_shift else None
    if not on_shift:
        # Expiring the open offers now lets the next expiry sweep offer those orders onward.
        await session.execute(
            update(DeliveryOffer)
            .where(
                DeliveryOffer.courier_id == courier.id,
                DeliveryOffer.status == OfferStatus.OFFERED.value,
                DeliveryOffer.expires_at > now,
            )
            .values(expires_at=now)
        )
    await session.flush()
    await record(
        session,
        action="courier.shift_started" if on_shift else "courier.shift_ended",
        actor=Actor.staff(courier),
        store_id=courier.store_id,
        target_type="user",
        target_id=courier.id,
    )
    logger.info(
        "courier.shift_changed",
        courier_id=str(courier.id),
        store_id=str(courier.store_id),
        on_shift=on_shift,
    )
    return state


async def report_position(
    session: AsyncSession,
    courier: User,
    *,
    latitude: float,
    longitude: float,
    recorded_at: datetime,
) -> tuple[CourierState, bool]:
    """Store the position unless a newer one is stored, and return (state, applied).

    The conditional UPDATE keeps the newest position even when reports arrive out of order
    or at once from several replicas.
    """
    now = utcnow()
    if recorded_at > now + MAX_CLOCK_SKEW:
        raise InvalidInputError(
            f"The position's recorded_at {recorded_at.isoformat()} is in the future.",
            field="recorded_at",
            fix="send the time the device took the position, with its UTC offset",
            extra={"server_time": now.isoformat()},
        )
    if recorded_at < now - MAX_POSITION_AGE:
        raise InvalidInputError(
            f"The position's recorded_at {recorded_at.isoformat()} is more than "
            f"{MAX_POSITION_AGE.total_seconds() / 3600:g} hours old.",
            field="recorded_at",
            fix="send the current position",
            extra={"server_time": now.isoformat()},
        )
    await ensure_state(session, courier)
    result = await session.execute(
        update(CourierState)
        .where(
            CourierState.user_id == courier.id,
            or_(CourierState.position_at.is_(None), CourierState.position_at < recorded_at),
        )
        .values(latitude=latitude, longitude=longitude, position_at=recorded_at, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    applied = bool(getattr(result, "rowcount", 0))
    state = await session.scalar(
        select(CourierState)
        .where(CourierState.user_id == courier.id)
        .execution_options(populate_existing=True)
    )
    assert state is not None
    return state, applied


async def courier_loads(
    session: AsyncSession, store_id: uuid.UUID, courier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Count each courier's assigned orders that are not finished yet."""
    if not courier_ids:
        return {}
    rows = await session.execute(
        select(Order.courier_id, func.count())
        .where(
            Order.store_id == store_id,
            Order.courier_id.in_(courier_ids),
            Order.status.not_in(FINISHED_STATUSES),
        )
        .group_by(Order.courier_id)
    )
    loads = {courier_id: 0 for courier_id in courier_ids}
    for courier_id, count in rows:
        if courier_id is not None:
            loads[courier_id] = int(count)
    return loads


async def list_couriers(session: AsyncSession, store_id: uuid.UUID) -> list[CourierView]:
    """List the store's courier accounts with their state and load, on-shift couriers first."""
    rows = await session.execute(
        select(User, CourierState)
        .outerjoin(CourierState, CourierState.user_id == User.id)
        .where(User.store_id == store_id, User.role == Role.COURIER.value)
        .order_by(User.full_name, User.email)
    )
    pairs = list(rows)
    loads = await courier_loads(session, store_id, [user.id for user, _ in pairs])
    views = [CourierView(user=user, state=state, load=loads[user.id]) for user, state in pairs]
    views.sort(key=lambda view: not (view.state is not None and view.state.on_shift))
    return views


def first_name(user: User) -> str | None:
    """Return the first word of the user's full name, the only part customers see."""
    if not user.full_name or not user.full_name.strip():
        return None
    return user.full_name.split()[0]
