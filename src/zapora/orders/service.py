"""Read, create and move a store's orders on behalf of staff."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from zapora import pagination
from zapora.audit.service import Actor, record, snapshot
from zapora.delivery.offers import on_order_status_changed
from zapora.errors import InvalidInputError, NotFoundError
from zapora.orders.models import ActorType, Order, OrderSource, OrderStatus
from zapora.orders.notifications import notify_status_change
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.orders.schemas import OrderCreate, OrderSummary
from zapora.orders.transitions import transition
from zapora.stores.models import Store

_ALLOWED_STATUSES = ", ".join(status.value for status in OrderStatus)
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
class OrderListPage:
    orders: list[Order]
    next_cursor: str | None


def parse_status_filter(values: Sequence[str]) -> list[OrderStatus]:
    """Parse repeated and comma-separated ``status`` values and raise 422 on an unknown one."""
    statuses: list[OrderStatus] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            try:
                status = OrderStatus(name)
            except ValueError:
                raise InvalidInputError(
                    f"Unknown order status '{name}'.",
                    field="status",
                    fix=f"use one of: {_ALLOWED_STATUSES}",
                    extra={"allowed": [status.value for status in OrderStatus]},
                ) from None
            if status not in statuses:
                statuses.append(status)
    return statuses


def encode_cursor(order: Order) -> str:
    """Encode the position after ``order`` in the newest-first listing as an opaque string."""
    return pagination.encode_cursor(order.placed_at, order.id)


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    return pagination.decode_cursor(cursor)


_SUMMARY_COLUMNS = tuple(getattr(Order, name) for name in OrderSummary.model_fields)


async def list_orders(
    session: AsyncSession,
    store_id: uuid.UUID,
    *,
    statuses: Sequence[OrderStatus] = (),
    limit: int = 20,
    cursor: str | None = None,
) -> OrderListPage:
    """Return one page of a store's orders, newest first, with ties broken by id.

    Only the columns of ``OrderSummary`` are loaded; reading any other attribute raises.
    """
    query = (
        select(Order)
        .where(Order.store_id == store_id)
        .options(load_only(*_SUMMARY_COLUMNS, raiseload=True))
    )
    if statuses:
        query = query.where(Order.status.in_([status.value for status in statuses]))
    if cursor is not None:
        placed_at, order_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Order.placed_at < placed_at,
                and_(Order.placed_at == placed_at, Order.id < order_id),
            )
        )
    query = query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit + 1)
    orders = list(await session.scalars(query))
    if len(orders) <= limit:
        return OrderListPage(orders=orders, next_cursor=None)
    page = orders[:limit]
    return OrderListPage(orders=page, next_cursor=encode_cursor(page[-1]))


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
    """Place an order entered by a staff member and record it, both in one flush.

    The order carries the lines and the first event it was written with.
    """
    # TODO: write the order, lines, event and audit rows with cached Core inserts. The ORM
    # flush is the largest single cost of a placement (about 13% of a worker's samples).
    order = await place_order(
        session,
        store,
        build_draft(request),
        actor_type=ActorType.STAFF,
        actor_id=actor.id,
        order_id=order_id,
        flush=False,
    )
    await record(
        session,
        action="order.created",
        actor=actor,
        store_id=store.id,
        target_type="order",
        target_id=order.id,
        after=snapshot(order, PLACED_ORDER_FIELDS),
        flush=False,
    )
    await session.flush()
    return order
