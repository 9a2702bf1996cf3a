"""Find an order by its tracking token and describe its progress for the customer."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.errors import NotFoundError
from zapora.orders.models import Order, OrderEvent
from zapora.reports.local_days import store_zone
from zapora.stores.models import Store
from zapora.tracking.schemas import TrackingOut, TrackingStep

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
    return TrackingOut(
        order_number=order.number,
        store_name=store.name,
        status=order.status,
        fulfilment=order.fulfilment,
        time_zone=zone.key,
        total=order.total,
        currency=order.currency,
        timeline=timeline,
        # TODO: no delivery or pickup estimate is computed yet, so this is always null.
        estimated_at=None,
        # TODO: couriers are not modelled yet, so their first name and live position stay null
        # until an order can be assigned to one.
        courier_first_name=None,
        courier_position=None,
    )
