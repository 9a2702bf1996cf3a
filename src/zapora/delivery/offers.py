"""Automatic dispatch: offer a ready order to the nearest courier, one courier at a time.

An order that becomes ready is offered to the best courier on shift who has not had it
since it last became ready. An order back from a failed delivery skips the courier who
failed it, so when nobody else is on shift it waits for staff to assign a courier.
Couriers are ranked by distance from the store to their last position, couriers without a
position last, then by load, then by id. The courier accepts or declines within the
store's ``courier_offer_seconds``. A decline offers the order to the next courier at once,
and the worker's ``expire_offers`` job does the same for offers that ran out. When no
courier is left the order waits unassigned, and the job offers it again as soon as a
courier who has not had it comes on shift.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from zapora.audit.models import AuditEntry
from zapora.audit.service import Actor
from zapora.auth.models import Role, User
from zapora.db import utcnow
from zapora.delivery.assignment import (
    COURIER_ASSIGNED_ACTION,
    assign_courier,
    withdraw_open_offers,
)
from zapora.delivery.couriers import courier_loads
from zapora.delivery.models import CourierState, DeliveryOffer, OfferStatus
from zapora.errors import ConflictError, NotFoundError
from zapora.orders.models import Fulfilment, Order, OrderEvent, OrderStatus
from zapora.stores.models import Store
from zapora.stores.zones import haversine_meters

logger = structlog.get_logger(__name__)

# Orders and offers handled per run of the expiry job. The rest wait for the next run.
EXPIRY_BATCH = 100


@dataclass(frozen=True)
class Candidate:
    courier_id: uuid.UUID
    distance_meters: float | None
    load: int

    def rank(self) -> tuple[bool, float, int, str]:
        distance = self.distance_meters
        return (distance is None, distance or 0.0, self.load, str(self.courier_id))


async def _round_start(session: AsyncSession, order: Order) -> OrderEvent | None:
    """Return the event in which the order last became ready, which starts the current round.

    Offers made before it belong to an older round.
    """
    event: OrderEvent | None = await session.scalar(
        select(OrderEvent)
        .where(OrderEvent.order_id == order.id, OrderEvent.to_status == OrderStatus.READY.value)
        .order_by(OrderEvent.created_at.desc())
        .limit(1)
    )
    return event


async def _courier_who_failed(
    session: AsyncSession, order: Order, round_start: OrderEvent | None
) -> uuid.UUID | None:
    """Return the courier whose failed delivery sent the order back to ready, if one did."""
    if round_start is None or round_start.from_status != OrderStatus.DELIVERY_FAILED.value:
        return None
    # The order leaves delivery_failed only for ready or cancelled, and ready drops the
    # courier, so the last assignment before this round is the one that failed.
    assigned = await session.scalar(
        select(AuditEntry.after)
        .where(
            AuditEntry.store_id == order.store_id,
            AuditEntry.action == COURIER_ASSIGNED_ACTION,
            AuditEntry.target_id == str(order.id),
            AuditEntry.created_at <= round_start.created_at,
        )
        .order_by(AuditEntry.created_at.desc())
        .limit(1)
    )
    courier_id = (assigned or {}).get("courier_id")
    return uuid.UUID(str(courier_id)) if courier_id else None


async def _candidates(session: AsyncSession, store: Store, order: Order) -> list[Candidate]:
    round_start = await _round_start(session, order)
    since = round_start.created_at if round_start is not None else order.placed_at
    already_offered = select(DeliveryOffer.courier_id).where(
        DeliveryOffer.order_id == order.id, DeliveryOffer.offered_at >= since
    )
    conditions: list[ColumnElement[bool]] = [CourierState.user_id.not_in(already_offered)]
    failed = await _courier_who_failed(session, order, round_start)
    if failed is not None:
        conditions.append(CourierState.user_id != failed)
    rows = await session.execute(
        select(CourierState)
        .join(User, User.id == CourierState.user_id)
        .where(
            CourierState.store_id == store.id,
            CourierState.on_shift.is_(True),
            User.store_id == store.id,
            User.role == Role.COURIER.value,
            User.is_active.is_(True),
            *conditions,
        )
    )
    states = list(rows.scalars())
    loads = await courier_loads(session, store.id, [state.user_id for state in states])
    candidates = []
    for state in states:
        distance = None
        if None not in (state.latitude, state.longitude, store.latitude, store.longitude):
            distance = haversine_meters(
                store.latitude,  # type: ignore[arg-type]
                store.longitude,  # type: ignore[arg-type]
                state.latitude,  # type: ignore[arg-type]
                state.longitude,  # type: ignore[arg-type]
            )
        candidates.append(Candidate(state.user_id, distance, loads[state.user_id]))
    return sorted(candidates, key=Candidate.rank)


def _waits_for_courier(order: Order) -> bool:
    return (
        order.fulfilment == Fulfilment.DELIVERY.value
        and order.status == OrderStatus.READY.value
        and order.courier_id is None
    )


async def _has_open_offer(session: AsyncSession, order: Order, now: datetime) -> bool:
    open_offer = await session.scalar(
        select(DeliveryOffer.id).where(
            DeliveryOffer.order_id == order.id,
            DeliveryOffer.status == OfferStatus.OFFERED.value,
            DeliveryOffer.expires_at > now,
        )
    )
    return open_offer is not None


async def offer_next(
    session: AsyncSession, store: Store, order: Order, *, log_when_none: bool = True
) -> DeliveryOffer | None:
    """Offer the order to the best courier not yet asked, or return None when none is left.

    The caller holds the order's row lock, so two offers for one order are never made at once.
    """
    now = utcnow()
    if not _waits_for_courier(order) or await _has_open_offer(session, order, now):
        return None
    candidates = await _candidates(session, store, order)
    if not candidates:
        if log_when_none:
            logger.info("dispatch.no_courier", order_id=str(order.id), store_id=str(store.id))
        return None
    chosen = candidates[0]
    offer = DeliveryOffer(
        store_id=store.id,
        order_id=order.id,
        courier_id=chosen.courier_id,
        status=OfferStatus.OFFERED.value,
        offered_at=now,
        expires_at=now + timedelta(seconds=store.courier_offer_seconds),
    )
    session.add(offer)
    await session.flush()
    logger.info(
        "dispatch.offered",
        order_id=str(order.id),
        store_id=str(store.id),
        courier_id=str(chosen.courier_id),
        offer_id=str(offer.id),
        distance_meters=None if chosen.distance_meters is None else round(chosen.distance_meters),
    )
    return offer


async def on_order_status_changed(
    session: AsyncSession, store: Store, order: Order, from_status: str | None
) -> None:
    """Start dispatch when a delivery order becomes ready, and stop it when it is cancelled.

    An order back from a failed delivery drops its courier and is offered afresh.
    """
    if order.status == OrderStatus.CANCELLED.value:
        await withdraw_open_offers(session, order.id)
        return
    if order.status != OrderStatus.READY.value or order.fulfilment != Fulfilment.DELIVERY.value:
        return
    if from_status == OrderStatus.DELIVERY_FAILED.value:
        order.courier_id = None
        order.courier_assigned_at = None
        order.handover_code = None
        await session.flush()
    await offer_next(session, store, order)


async def _load_offer(
    session: AsyncSession, courier: User, offer_id: uuid.UUID
) -> tuple[DeliveryOffer, Store]:
    offer = await session.scalar(
        select(DeliveryOffer)
        .where(DeliveryOffer.id == offer_id, DeliveryOffer.courier_id == courier.id)
        .execution_options(populate_existing=True)
    )
    if offer is None:
        raise NotFoundError(f"Offer {offer_id} not found.", field="offer_id")
    store = await session.get(Store, offer.store_id)
    assert store is not None
    return offer, store


def _check_not_expired(offer: DeliveryOffer, now: datetime) -> None:
    if offer.status == OfferStatus.OFFERED.value and offer.expires_at <= now:
        raise ConflictError(
            "This offer has expired and went to another courier.",
            field="offer_id",
            fix="wait for a new offer",
            extra={"expires_at": offer.expires_at.isoformat()},
        )


async def _answer(
    session: AsyncSession, offer: DeliveryOffer, status: OfferStatus, now: datetime
) -> None:
    """Record the courier's response, unless the offer was answered or expired meanwhile."""
    _check_not_expired(offer, now)
    result = await session.execute(
        update(DeliveryOffer)
        .where(DeliveryOffer.id == offer.id, DeliveryOffer.status == OfferStatus.OFFERED.value)
        .values(status=status.value, responded_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        current = await session.scalar(
            select(DeliveryOffer.status).where(DeliveryOffer.id == offer.id)
        )
        raise ConflictError(
            f"This offer is already {current}.",
            field="offer_id",
            fix="list your open offers at GET /api/v1/courier/offers",
            extra={"offer_status": current},
        )


async def accept_offer(session: AsyncSession, courier: User, offer_id: uuid.UUID) -> Order:
    """Accept an open offer and take the order. Raise 409 when it expired or the order is taken.

    Accepting an offer the courier already accepted, for an order they still hold, returns
    that order again, so a retried request succeeds.
    """
    offer, store = await _load_offer(session, courier, offer_id)
    if offer.status == OfferStatus.ACCEPTED.value:
        assigned_order = await session.scalar(
            select(Order).where(Order.id == offer.order_id, Order.courier_id == courier.id)
        )
        if assigned_order is not None:
            return assigned_order
    _check_not_expired(offer, utcnow())
    # The order row is locked before any offer row, as every other writer of both does, so
    # concurrent accepts wait for each other instead of deadlocking.
    order = await assign_courier(
        session,
        store,
        offer.order_id,
        courier,
        actor=Actor.staff(courier),
        replace=False,
        offer_id=offer.id,
    )
    await _answer(session, offer, OfferStatus.ACCEPTED, utcnow())
    return order


async def decline_offer(session: AsyncSession, courier: User, offer_id: uuid.UUID) -> None:
    """Decline an open offer and offer the order to the next courier at once."""
    offer, store = await _load_offer(session, courier, offer_id)
    order = await session.scalar(select(Order).where(Order.id == offer.order_id).with_for_update())
    await _answer(session, offer, OfferStatus.DECLINED, utcnow())
    logger.info("dispatch.declined", offer_id=str(offer.id), courier_id=str(courier.id))
    if order is not None:
        await offer_next(session, store, order)


async def _claim_expired(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Mark a batch of ran-out offers expired and return their orders' ids."""
    # SKIP LOCKED lets several workers run the job at once without taking the same offers.
    offers = list(
        await session.scalars(
            select(DeliveryOffer)
            .where(
                DeliveryOffer.status == OfferStatus.OFFERED.value,
                DeliveryOffer.expires_at <= now,
            )
            .order_by(DeliveryOffer.expires_at)
            .limit(EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for offer in offers:
        offer.status = OfferStatus.EXPIRED.value
        offer.responded_at = now
    await session.flush()
    return list(dict.fromkeys(offer.order_id for offer in offers))


async def _waiting_order_ids(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Return ready delivery orders with no courier and no open offer."""
    open_offers = select(DeliveryOffer.order_id).where(
        DeliveryOffer.status == OfferStatus.OFFERED.value, DeliveryOffer.expires_at > now
    )
    ids = await session.scalars(
        select(Order.id)
        .join(CourierState, CourierState.store_id == Order.store_id)
        .where(
            Order.status == OrderStatus.READY.value,
            Order.fulfilment == Fulfilment.DELIVERY.value,
            Order.courier_id.is_(None),
            Order.id.not_in(open_offers),
            CourierState.on_shift.is_(True),
        )
        .distinct()
        .limit(EXPIRY_BATCH)
    )
    return list(ids)


async def expire_offers(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Expire offers that ran out, offer waiting orders onward and return the offers made.

    One transaction per run. Orders locked by another worker are skipped and picked up by
    a later run.
    """
    made = 0
    async with session_factory() as session, session.begin():
        now = utcnow()
        order_ids = await _claim_expired(session, now)
        order_ids += [i for i in await _waiting_order_ids(session, now) if i not in order_ids]
        if not order_ids:
            return 0
        orders = await session.scalars(
            select(Order)
            .where(Order.id.in_(order_ids))
            .order_by(Order.placed_at)
            .with_for_update(skip_locked=True)
        )
        for order in list(orders):
            store = await session.get(Store, order.store_id)
            # Waiting orders come back every run, so finding no courier again is not logged.
            offer = await offer_next(session, store, order, log_when_none=False) if store else None
            if offer is not None:
                made += 1
    if made:
        logger.info("dispatch.reoffered", offers=made)
    return made
