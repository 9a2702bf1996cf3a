"""Place an order: price it, number it, store it with its first event."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.db import utcnow
from zapora.errors import InvalidInputError
from zapora.observability.commit_metrics import increment_on_commit
from zapora.observability.metrics import ORDERS_PLACED
from zapora.orders.errors import BelowMinimumOrderError, EmptyOrderError, StoreClosedError
from zapora.orders.models import (
    ActorType,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderSource,
    OrderStatus,
    PaymentMethod,
)
from zapora.orders.pricing import LineRequest, PricedLine, price_lines
from zapora.stores.hours_service import store_status
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class OrderDraft:
    lines: Sequence[LineRequest]
    fulfilment: Fulfilment
    payment_method: PaymentMethod
    source: OrderSource
    change_for: int | None = None
    address_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    notes: str | None = None
    customer_id: uuid.UUID | None = None
    customer_name: str | None = None
    customer_phone: str | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: int
    delivery_fee: int

    @property
    def total(self) -> int:
        return self.subtotal + self.delivery_fee


def compute_totals(store: Store, lines: Sequence[PricedLine], fulfilment: Fulfilment) -> Totals:
    subtotal = sum(line.line_total for line in lines)
    fee = store.delivery_fee if fulfilment is Fulfilment.DELIVERY else 0
    return Totals(subtotal=subtotal, delivery_fee=fee)


# Amount columns are 32-bit integers on every backend.
MAX_ORDER_TOTAL = 2_000_000_000


def check_total_in_range(total: int) -> None:
    if total > MAX_ORDER_TOTAL:
        raise InvalidInputError(
            f"The order total {total} exceeds the maximum of {MAX_ORDER_TOTAL} minor units.",
            field="lines",
            fix="split the order into smaller orders or lower the quantities",
        )


def check_minimum(store: Store, subtotal: int) -> None:
    if subtotal < store.minimum_order:
        raise BelowMinimumOrderError(
            f"The subtotal {subtotal} is below the store's minimum order of "
            f"{store.minimum_order} ({store.currency} minor units).",
            field="lines",
            fix="add items until the subtotal reaches the minimum",
            extra={"minimum_order": store.minimum_order, "subtotal": subtotal},
        )


def _check_fulfilment(draft: OrderDraft) -> None:
    if draft.fulfilment is not Fulfilment.DELIVERY:
        return
    has_pin = draft.latitude is not None and draft.longitude is not None
    if (draft.latitude is None) != (draft.longitude is None):
        raise InvalidInputError(
            "A location needs both latitude and longitude.",
            field="latitude" if draft.latitude is None else "longitude",
            fix="send both coordinates or neither",
        )
    if not has_pin and not (draft.address_text and draft.address_text.strip()):
        raise InvalidInputError(
            "A delivery order needs an address or a location.",
            field="address_text",
            fix="send address_text, or latitude and longitude",
        )


def _check_payment(draft: OrderDraft, total: int) -> None:
    if draft.change_for is None:
        return
    if draft.payment_method is not PaymentMethod.CASH:
        raise InvalidInputError(
            "Change is only given for cash payments.",
            field="change_for",
            fix="leave change_for out or pay in cash",
        )
    if draft.change_for < total:
        raise InvalidInputError(
            f"Change for {draft.change_for} is less than the total {total}.",
            field="change_for",
            fix="send an amount at least equal to the total, or leave it out",
        )


async def next_order_number(session: AsyncSession, store_id: uuid.UUID) -> int:
    """Take the store's next order number; the row lock serialises concurrent orders."""
    number = await session.scalar(
        update(Store)
        .where(Store.id == store_id)
        .values(last_order_number=Store.last_order_number + 1)
        .returning(Store.last_order_number)
    )
    if number is None:
        raise LookupError(f"store {store_id} vanished while numbering an order")
    return int(number)


async def place_order(
    session: AsyncSession,
    store: Store,
    draft: OrderDraft,
    *,
    actor_type: ActorType,
    actor_id: uuid.UUID | None,
) -> Order:
    """Validate, price and store a new order in status ``placed``; flush, never commit."""
    opening = await store_status(session, store, utcnow())
    if not opening.open:
        raise StoreClosedError(
            f"{store.name} is closed now.",
            opens_next_at=opening.opens_next_at,
            fix="try again when the store opens, at opens_next_at when it is set",
        )
    if not draft.lines:
        raise EmptyOrderError("The order has no lines.", field="lines", fix="add at least one item")
    _check_fulfilment(draft)
    priced = await price_lines(session, store.id, draft.lines)
    totals = compute_totals(store, priced, draft.fulfilment)
    check_total_in_range(totals.total)
    check_minimum(store, totals.subtotal)
    _check_payment(draft, totals.total)

    order = Order(
        id=uuid.uuid4(),
        store_id=store.id,
        number=await next_order_number(session, store.id),
        customer_id=draft.customer_id,
        customer_name=draft.customer_name,
        customer_phone=draft.customer_phone,
        source=draft.source.value,
        status=OrderStatus.PLACED.value,
        fulfilment=draft.fulfilment.value,
        address_text=draft.address_text,
        latitude=draft.latitude,
        longitude=draft.longitude,
        payment_method=draft.payment_method.value,
        change_for=draft.change_for,
        notes=draft.notes,
        currency=store.currency,
        subtotal=totals.subtotal,
        delivery_fee=totals.delivery_fee,
        total=totals.total,
        tracking_token=secrets.token_urlsafe(24),
    )
    session.add(order)
    for position, line in enumerate(priced):
        session.add(
            OrderLine(
                order_id=order.id,
                store_id=store.id,
                position=position,
                item_id=line.item_id,
                name=line.name,
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.line_total,
                options=line.options,
                notes=line.notes,
            )
        )
    session.add(
        OrderEvent(
            order_id=order.id,
            store_id=store.id,
            from_status=None,
            to_status=OrderStatus.PLACED.value,
            actor_type=actor_type.value,
            actor_id=actor_id,
        )
    )
    await session.flush()
    increment_on_commit(session, ORDERS_PLACED, source=draft.source.value)
    logger.info(
        "order.placed",
        order_id=str(order.id),
        store_id=str(store.id),
        number=order.number,
        total=order.total,
    )
    return order
