"""Orders placed and moved at chosen instants, so reports can be checked to the second."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu
from zapora.catalog.models import Item, Option
from zapora.orders.models import (
    ActorType,
    Fulfilment,
    Order,
    OrderEvent,
    OrderSource,
    OrderStatus,
    PaymentMethod,
)
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.orders.transitions import transition
from zapora.stores.models import Store


def utc(text: str) -> datetime:
    """Parse an ISO time such as ``2026-03-10T02:30:00`` as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def place_at(
    session: AsyncSession,
    store: Store,
    lines: Sequence[tuple[Item, int, Sequence[Option]]],
    placed_at: datetime,
    fulfilment: Fulfilment = Fulfilment.PICKUP,
) -> Order:
    """Place an order, then move its placement time and first event to ``placed_at``."""
    draft = OrderDraft(
        lines=[
            LineRequest(item_id=item.id, quantity=quantity, option_ids=tuple(o.id for o in options))
            for item, quantity, options in lines
        ],
        fulfilment=fulfilment,
        payment_method=PaymentMethod.CARD_ON_DELIVERY,
        source=OrderSource.STAFF,
        address_text="Rua Augusta 100" if fulfilment is Fulfilment.DELIVERY else None,
    )
    order = await place_order(session, store, draft, actor_type=ActorType.SYSTEM, actor_id=None)
    order.placed_at = placed_at
    await session.execute(
        update(OrderEvent).where(OrderEvent.order_id == order.id).values(created_at=placed_at)
    )
    await session.flush()
    return order


async def move_at(
    session: AsyncSession,
    order: Order,
    status: OrderStatus,
    seconds_after_placement: int,
    reason: str | None = None,
) -> None:
    """Move ``order`` to ``status`` and date the event that many seconds after placement."""
    event = await transition(
        session, order, status, actor_type=ActorType.SYSTEM, actor_id=None, reason=reason
    )
    event.created_at = order.placed_at + timedelta(seconds=seconds_after_placement)
    await session.flush()


@dataclass
class History:
    """Orders of a São Paulo store (UTC-3) around the local midnights of 9 to 11 March 2026."""

    delivered: Order
    cancelled_at_noon: Order
    picked_up_at_midnight: Order
    cancelled_before_midnight: Order
    cancelled_afternoon: Order
    after_range: Order
    before_range: Order


async def make_history(session: AsyncSession, store: Store, menu: Menu) -> History:
    """Build the dated orders the report tests count; each comment gives the local time."""
    pizza, soda, large, small = menu.pizza, menu.soda, menu.large, menu.small
    # Local 9 March 23:30: two large pizzas and a soda delivered, 10100 with the fee.
    delivered = await place_at(
        session,
        store,
        [(pizza, 2, [large]), (soda, 1, [])],
        utc("2026-03-10T02:30:00"),
        Fulfilment.DELIVERY,
    )
    for status, seconds in [
        (OrderStatus.ACCEPTED, 300),
        (OrderStatus.PREPARING, 600),
        (OrderStatus.READY, 1200),
        (OrderStatus.OUT_FOR_DELIVERY, 1500),
        (OrderStatus.DELIVERED, 2400),
    ]:
        await move_at(session, delivered, status, seconds)

    # Local 9 March 12:00, cancelled before acceptance.
    cancelled_at_noon = await place_at(
        session, store, [(pizza, 5, [small])], utc("2026-03-09T15:00:00")
    )
    await move_at(session, cancelled_at_noon, OrderStatus.CANCELLED, 60, "out of stock")

    # Local 10 March 00:00 exactly: three sodas picked up, 1800.
    picked_up = await place_at(session, store, [(soda, 3, [])], utc("2026-03-10T03:00:00"))
    for status, seconds in [
        (OrderStatus.ACCEPTED, 600),
        (OrderStatus.PREPARING, 900),
        (OrderStatus.READY, 1800),
        (OrderStatus.PICKED_UP, 2000),
    ]:
        await move_at(session, picked_up, status, seconds)

    # Local 10 March 23:59:59, the last second of the day.
    before_midnight = await place_at(session, store, [(soda, 2, [])], utc("2026-03-11T02:59:59"))
    await move_at(session, before_midnight, OrderStatus.CANCELLED, 30, "out of stock")

    # Local 10 March 15:00, accepted and then cancelled.
    afternoon = await place_at(session, store, [(soda, 2, [])], utc("2026-03-10T18:00:00"))
    await move_at(session, afternoon, OrderStatus.ACCEPTED, 100)
    await move_at(session, afternoon, OrderStatus.CANCELLED, 200, "customer gave up")

    # Local 11 March 00:00 and 8 March 23:59: outside a 9 to 10 March range.
    after_range = await place_at(session, store, [(soda, 10, [])], utc("2026-03-11T03:00:00"))
    await move_at(session, after_range, OrderStatus.CANCELLED, 10, "closing early")
    before_range = await place_at(session, store, [(soda, 10, [])], utc("2026-03-09T02:59:00"))

    return History(
        delivered=delivered,
        cancelled_at_noon=cancelled_at_noon,
        picked_up_at_midnight=picked_up,
        cancelled_before_midnight=before_midnight,
        cancelled_afternoon=afternoon,
        after_range=after_range,
        before_range=before_range,
    )
