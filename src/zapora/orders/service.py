"""Read, create and move a store's orders on behalf of staff."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from zapora.errors import InvalidInputError, NotFoundError
from zapora.orders.models import ActorType, Order, OrderSource, OrderStatus
from zapora.orders.notifications import notify_status_change
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.orders.schemas import OrderCreate
from zapora.orders.transitions import transition
from zapora.stores.models import Store

_ALLOWED_STATUSES = ", ".join(status.value for status in OrderStatus)


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
    position = {"placed_at": order.placed_at.astimezone(UTC).isoformat(), "id": str(order.id)}
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Decode a cursor from :func:`encode_cursor`, raising 422 on ``cursor`` if it is invalid."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        position = json.loads(raw)
        if not isinstance(position, dict):
            raise ValueError("cursor is not an object")
        placed_at_text, id_text = position.get("placed_at"), position.get("id")
        if not isinstance(placed_at_text, str) or not isinstance(id_text, str):
            raise ValueError("cursor lacks placed_at or id")
        placed_at = datetime.fromisoformat(placed_at_text)
        if placed_at.tzinfo is None:
            raise ValueError("cursor time has no offset")
        return placed_at.astimezone(UTC), uuid.UUID(id_text)
    except (ValueError, OverflowError):
        raise InvalidInputError(
            "The cursor is invalid.",
            field="cursor",
            fix="pass the next_cursor of a previous page unchanged, or leave cursor out",
        ) from None


async def list_orders(
    session: AsyncSession,
    store_id: uuid.UUID,
    *,
    statuses: Sequence[OrderStatus] = (),
    limit: int = 20,
    cursor: str | None = None,
) -> OrderListPage:
    """Return one page of a store's orders, newest first, with ties broken by id."""
    query = select(Order).where(Order.store_id == store_id)
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
    actor_id: uuid.UUID,
    reason: str | None = None,
) -> Order:
    """Move an order to ``to_status`` as a staff member and queue the customer's notice."""
    # The row lock makes concurrent changes of one order take turns, so each one checks
    # the status the previous one left (SQLite already serialises writers).
    order = await session.scalar(
        select(Order).where(Order.store_id == store.id, Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    await transition(
        session, order, to_status, actor_type=ActorType.STAFF, actor_id=actor_id, reason=reason
    )
    await notify_status_change(session, store, order)
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
    session: AsyncSession, store: Store, request: OrderCreate, *, actor_id: uuid.UUID
) -> Order:
    """Place an order entered by a staff member. The returned order has no lines loaded."""
    return await place_order(
        session, store, build_draft(request), actor_type=ActorType.STAFF, actor_id=actor_id
    )
