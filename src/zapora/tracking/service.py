"""Find an order by its tracking token and describe its progress for the customer."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import User
from zapora.delivery.models import CourierState
from zapora.errors import NotFoundError
from zapora.orders.models import Order, OrderEvent, OrderStatus
from zapora.reports.local_days import store_zone
from zapora.stores.models import Store
from zapora.tracking.schemas import CourierPosition, TrackingOut, TrackingStep

# Tokens come from secrets.token_urlsafe and fit the 64-character column.
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def tracking_url(public_base_url: str, token: str) -> str:
    """Build the link of an order's public tracking page."""
    return f"{public_base_url.rstrip('/')}/track/{token}"


def _not_found() -> NotFoundError:
    # One message for malformed and unknown tokens, so a response reveals nothing about them.
    return NotFoundError(
        "No order has this tracking link.",
        field="token",
        fix="open the link from the order confirmation message",
    )


async def track_order(session: AsyncSession, token: str) -> TrackingOut:
    """Return the public view of the order whose tracking token is ``token``, else a 404."""
    if not _TOKEN_PATTERN.fullmatch(token):
        raise _not_found()
    found = (
        await session.execute(
            select(Order, Store)
            .join(Store, Store.id == Order.store_id)
            .where(Order.tracking_token == token)
        )
    ).one_or_none()
    if found is None:
        raise _not_found()
    order, store = found
    events = await session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    )
    zone = store_zone(store)
    timeline = [
        TrackingStep(
            status=event.to_status, at=event.created_at, local_at=event.created_at.astimezone(zone)
        )
        for event in events
    ]
    estimated_at = estimated_delivery(order)
    courier_name, position = await _courier(session, order)
    return TrackingOut(
        order_number=order.number,
        store_name=store.name,
        status=order.status,
        fulfilment=order.fulfilment,
        time_zone=zone.key,
        total=order.total,
        currency=order.currency,
        timeline=timeline,
        estimated_at=estimated_at,
        estimated_local_at=estimated_at.astimezone(zone) if estimated_at else None,
        courier_first_name=courier_name,
        courier_position=position,
    )


def estimated_delivery(order: Order) -> datetime | None:
    """Return when the order should arrive: its own estimate, else placement plus the zone's."""
    if order.estimated_delivery_at is not None:
        return order.estimated_delivery_at
    if order.estimate_minutes is not None:
        return order.placed_at + timedelta(minutes=order.estimate_minutes)
    return None


async def _courier(
    session: AsyncSession, order: Order
) -> tuple[str | None, CourierPosition | None]:
    """Return the courier's first name and last position while the order is on its way."""
    if order.status != OrderStatus.OUT_FOR_DELIVERY.value or order.courier_id is None:
        return None, None
    found = (
        await session.execute(
            select(User.full_name, CourierState)
            .outerjoin(CourierState, CourierState.user_id == User.id)
            .where(User.id == order.courier_id)
        )
    ).one_or_none()
    if found is None:
        return None, None
    full_name, state = found
    first_name = full_name.split()[0] if full_name and full_name.strip() else None
    if state is None or state.latitude is None or state.longitude is None:
        return first_name, None
    if state.position_at is None:
        return first_name, None
    position = CourierPosition(
        latitude=state.latitude, longitude=state.longitude, at=state.position_at
    )
    return first_name, position
