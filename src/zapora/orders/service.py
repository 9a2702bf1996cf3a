"""Read, create and move a store's orders on behalf of staff."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from zapora.audit.service import Actor, record
from zapora.delivery.offers import on_order_status_changed
from zapora.errors import NotFoundError
from zapora.orders.models import ActorType, Order, OrderSource, OrderStatus
from zapora.orders.notifications import notify_status_change
from zapora.orders.placement import OrderDraft, PlacementAudit, place_order
from zapora.orders.pricing import LineRequest
from zapora.orders.schemas import OrderCreate
from zapora.orders.transitions import transition
from zapora.stores.models import Store


async def get_order(session: AsyncSession, store_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    """Load a store's order with its lines and events. Another store's order is a 404."""
    order = await session.scalar(
        select(Order)
        .where(Order.store_id == store_id, Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    return order


async def change_status(
    session: AsyncSession,
    store: Store,
    order_id: uuid.UUID,
    to_status: OrderStatus,
    *,
    actor: Actor,
    reason: str | None = None,
) -> Order:
    """Move an order to ``to_status``, record who did it and queue the customer's notice."""
    # The row lock makes concurrent changes of one order take turns, so each one checks
    # the status the previous one left (SQLite already serialises writers).
    order = await session.scalar(
        select(Order).where(Order.store_id == store.id, Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    event = await transition(
        session,
        order,
        to_status,
        actor_type=ActorType(actor.type),
        actor_id=actor.id,
        reason=reason,
    )
    await record(
        session,
        action="order.transitioned",
        actor=actor,
        store_id=store.id,
        target_type="order",
        target_id=order.id,
        before={"status": event.from_status},
        after={"status": event.to_status, "reason": event.reason},
    )
    await notify_status_change(session, store, order)
    # A ready delivery order is offered to a courier, and a cancelled one loses its offers.
    await on_order_status_changed(session, store, order, event.from_status)
    return await get_order(session, store.id, order.id)


def build_draft(request: OrderCreate) -> OrderDraft:
    """Turn a staff order request into a draft, which is priced when it is placed."""
    return OrderDraft(
        lines=[
            LineRequest(
                item_id=line.item_id,
                quantity=line.quantity,
                option_ids=tuple(line.option_ids),
                notes=line.notes,
            )
            for line in request.lines
        ],
        fulfilment=request.fulfilment,
        payment_method=request.payment_method,
        source=OrderSource.STAFF,
        change_for=request.change_for,
        address_text=request.address_text,
        latitude=request.latitude,
        longitude=request.longitude,
        notes=request.notes,
        customer_name=request.customer_name,
        customer_phone=request.customer_phone,
    )


async def create_order(
    session: AsyncSession,
    store: Store,
    request: OrderCreate,
    *,
    actor: Actor,
    order_id: uuid.UUID | None = None,
) -> Order:
    """Place an order entered by a staff member and record it in the audit log.

    The order carries the lines and the first event it was written with.
    """
    return await place_order(
        session,
        store,
        build_draft(request),
        actor_type=ActorType.STAFF,
        actor_id=actor.id,
        order_id=order_id,
        audit=PlacementAudit(action="order.created", actor=actor),
    )
