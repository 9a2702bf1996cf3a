"""The order state machine: which status may follow which, and who moved it."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.errors import ConflictError, InvalidInputError
from zapora.observability.commit_metrics import increment_on_commit
from zapora.observability.metrics import ORDER_TRANSITIONS
from zapora.orders.models import ActorType, Fulfilment, Order, OrderEvent, OrderStatus

logger = structlog.get_logger(__name__)

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PLACED: frozenset({S.ACCEPTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.PREPARING, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.OUT_FOR_DELIVERY, S.PICKED_UP, S.CANCELLED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.DELIVERY_FAILED, S.CANCELLED}),
    # A failed delivery goes back to ready for another courier, or is cancelled.
    S.DELIVERY_FAILED: frozenset({S.READY, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.PICKED_UP: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses that only make sense for one way of fulfilment.
_DELIVERY_ONLY = frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED})
_PICKUP_ONLY = frozenset({S.PICKED_UP})


def allowed_next(order: Order) -> list[OrderStatus]:
    """List the statuses this order may move to, in table order."""
    current = OrderStatus(order.status)
    excluded = _PICKUP_ONLY if order.fulfilment == Fulfilment.DELIVERY.value else _DELIVERY_ONLY
    return [status for status in OrderStatus if status in TRANSITIONS[current] - excluded]


async def transition(
    session: AsyncSession,
    order: Order,
    to_status: OrderStatus,
    *,
    actor_type: ActorType,
    actor_id: uuid.UUID | None,
    reason: str | None = None,
) -> OrderEvent:
    """Move an order to ``to_status`` and record who did it; raise 409 when not allowed."""
    allowed = allowed_next(order)
    if to_status not in allowed:
        names = ", ".join(status.value for status in allowed) or "none (the order is final)"
        raise ConflictError(
            f"An order in status '{order.status}' cannot move to '{to_status.value}'.",
            field="status",
            fix=f"use one of: {names}",
            extra={
                "current_status": order.status,
                "allowed": [status.value for status in allowed],
            },
        )
    if to_status is OrderStatus.ACCEPTED and order.fee_pending:
        raise ConflictError(
            "The delivery fee of this order is still to be confirmed.",
            field="delivery_fee",
            fix="confirm the fee for the typed address first, then accept the order",
            extra={"current_status": order.status},
        )
    if to_status is OrderStatus.CANCELLED and not (reason and reason.strip()):
        raise InvalidInputError(
            "Cancelling an order needs a reason.",
            field="reason",
            fix="say why the order is cancelled, e.g. 'out of stock'",
        )
    event = OrderEvent(
        order_id=order.id,
        store_id=order.store_id,
        from_status=order.status,
        to_status=to_status.value,
        actor_type=actor_type.value,
        actor_id=actor_id,
        reason=reason,
    )
    if to_status is OrderStatus.CANCELLED:
        order.cancel_reason = reason
    order.status = to_status.value
    session.add(event)
    await session.flush()
    increment_on_commit(session, ORDER_TRANSITIONS, status=to_status.value)
    logger.info(
        "order.transitioned",
        order_id=str(order.id),
        store_id=str(order.store_id),
        from_status=event.from_status,
        to_status=to_status.value,
    )
    return event
