"""Give an order its one courier, with a handover code the customer receives on WhatsApp."""

from __future__ import annotations

import secrets
import uuid

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.auth.models import Role, User
from zapora.db import utcnow
from zapora.delivery.couriers import first_name
from zapora.delivery.models import DeliveryOffer, OfferStatus
from zapora.errors import ConflictError, InvalidInputError, NotFoundError
from zapora.orders.models import Fulfilment, Order, OrderStatus
from zapora.orders.notifications import notify_order_update
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

# A courier may be given an order while it is cooked or once it waits at the counter.
ASSIGNABLE_STATUSES = (OrderStatus.PREPARING.value, OrderStatus.READY.value)
HANDOVER_CODE_DIGITS = 4
COURIER_ASSIGNED_ACTION = "order.courier_assigned"


def new_handover_code() -> str:
    """Return a random code of HANDOVER_CODE_DIGITS digits, leading zeros kept."""
    return f"{secrets.randbelow(10**HANDOVER_CODE_DIGITS):0{HANDOVER_CODE_DIGITS}d}"


async def _explain_refusal(session: AsyncSession, store: Store, order_id: uuid.UUID) -> Exception:
    """Build the error for an assignment whose conditional UPDATE matched no row."""
    order = await session.scalar(
        select(Order)
        .where(Order.store_id == store.id, Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    if order is None:
        return NotFoundError(f"Order {order_id} not found.", field="order_id")
    if order.fulfilment != Fulfilment.DELIVERY.value:
        return ConflictError(
            f"Order #{order.number} is for pickup and needs no courier.",
            field="order_id",
            fix="assign couriers to delivery orders only",
        )
    if order.status not in ASSIGNABLE_STATUSES:
        return ConflictError(
            f"Order #{order.number} is '{order.status}', but a courier can be assigned only "
            "while it is preparing or ready.",
            field="order_id",
            fix="assign a courier while the order is preparing or ready",
            extra={"current_status": order.status},
        )
    return ConflictError(
        f"Order #{order.number} already has a courier.",
        field="order_id",
        fix="pick another order; this one is taken",
        extra={"courier_id": str(order.courier_id)},
    )


async def withdraw_open_offers(
    session: AsyncSession, order_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    """Mark the order's unanswered offers withdrawn, except the offer ``keep``."""
    statement = update(DeliveryOffer).where(
        DeliveryOffer.order_id == order_id, DeliveryOffer.status == OfferStatus.OFFERED.value
    )
    if keep is not None:
        statement = statement.where(DeliveryOffer.id != keep)
    await session.execute(
        statement.values(
            status=OfferStatus.WITHDRAWN.value, responded_at=utcnow()
        ).execution_options(synchronize_session=False)
    )


async def assign_courier(
    session: AsyncSession,
    store: Store,
    order_id: uuid.UUID,
    courier: User,
    *,
    actor: Actor,
    replace: bool,
    offer_id: uuid.UUID | None = None,
) -> Order:
    """Set the order's courier and handover code, then queue the customer's notice.

    Without ``replace`` the UPDATE only matches an order that has no courier yet, so of
    two couriers accepting at once exactly one succeeds and the other gets 409.
    """
    code = new_handover_code()
    now = utcnow()
    statement = update(Order).where(
        Order.id == order_id,
        Order.store_id == store.id,
        Order.fulfilment == Fulfilment.DELIVERY.value,
        Order.status.in_(ASSIGNABLE_STATUSES),
    )
    if not replace:
        statement = statement.where(Order.courier_id.is_(None))
    result = await session.execute(
        statement.values(
            courier_id=courier.id, courier_assigned_at=now, handover_code=code, updated_at=now
        ).execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise await _explain_refusal(session, store, order_id)
    order = await session.scalar(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    )
    assert order is not None
    await withdraw_open_offers(session, order.id, keep=offer_id)
    await record(
        session,
        action=COURIER_ASSIGNED_ACTION,
        actor=actor,
        store_id=store.id,
        target_type="order",
        target_id=order.id,
        after={"courier_id": courier.id, "offer_id": offer_id},
    )
    await notify_order_update(
        session,
        store,
        order,
        kind="assignment",
        text_key="order_update.courier_assigned",
        courier_name=first_name(courier) or store.name,
        handover_code=code,
    )
    logger.info(
        "order.courier_assigned",
        order_id=str(order.id),
        store_id=str(store.id),
        courier_id=str(courier.id),
        by_offer=offer_id is not None,
    )
    return order


async def load_courier(session: AsyncSession, store: Store, courier_id: uuid.UUID) -> User:
    """Return the store's active courier ``courier_id``, else raise 422 on courier_id."""
    courier = await session.get(User, courier_id)
    if (
        courier is None
        or courier.store_id != store.id
        or courier.role != Role.COURIER.value
        or not courier.is_active
    ):
        raise InvalidInputError(
            f"User {courier_id} is not an active courier of this store.",
            field="courier_id",
            fix="use the id of a courier from GET /api/v1/stores/{store_id}/couriers",
        )
    return courier


async def assign_by_staff(
    session: AsyncSession, store: Store, order_id: uuid.UUID, courier_id: uuid.UUID, *, actor: Actor
) -> Order:
    """Assign a courier chosen by staff, replacing another courier who has not left yet.

    Assigning the courier the order already has changes nothing, so a repeated request
    does not send the customer a second code.
    """
    courier = await load_courier(session, store, courier_id)
    current = await session.scalar(
        select(Order.courier_id).where(Order.id == order_id, Order.store_id == store.id)
    )
    if current == courier.id:
        order = await session.scalar(
            select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
        )
        assert order is not None
        if order.status in ASSIGNABLE_STATUSES:
            return order
    return await assign_courier(session, store, order_id, courier, actor=actor, replace=True)
