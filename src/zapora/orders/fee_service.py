"""Staff confirm the delivery fee of an order placed with a typed address."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.errors import ConflictError, NotFoundError
from zapora.money import format_money
from zapora.orders.models import Order, OrderStatus
from zapora.orders.notifications import notify_order_update
from zapora.orders.placement import check_total_in_range
from zapora.orders.service import get_order
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

FEE_CONFIRMED_KIND = "fee_confirmed"


async def confirm_delivery_fee(
    session: AsyncSession, store: Store, order_id: uuid.UUID, fee: int, *, actor: Actor
) -> Order:
    """Set the confirmed fee, recompute the total, audit it and tell the customer.

    Allowed only while the fee is pending and the order is still ``placed``. Anything
    else raises ConflictError (409).
    """
    # Locked like a status change, so a concurrent accept or cancel reads the new state.
    order = await session.scalar(
        select(Order).where(Order.store_id == store.id, Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    if not order.fee_pending:
        raise ConflictError(
            "The delivery fee of this order is not pending confirmation.",
            field="delivery_fee",
            fix="only orders placed with a typed address and a provisional fee need this",
        )
    if order.status != OrderStatus.PLACED.value:
        raise ConflictError(
            f"The fee can only be confirmed while the order is placed, and it is {order.status}.",
            field="delivery_fee",
            fix="confirm the fee before the order moves on",
            extra={"current_status": order.status},
        )
    total = order.subtotal + fee
    check_total_in_range(total)
    # NOTE: a cash order's change_for is kept even when the confirmed total exceeds it.
    before = {"delivery_fee": order.delivery_fee, "total": order.total, "fee_pending": True}
    order.delivery_fee = fee
    order.total = total
    order.fee_pending = False
    await session.flush()
    await record(
        session,
        action="order.delivery_fee_confirmed",
        actor=actor,
        store_id=store.id,
        target_type="order",
        target_id=order.id,
        before=before,
        after={"delivery_fee": fee, "total": total, "fee_pending": False},
    )
    await notify_order_update(
        session,
        store,
        order,
        kind=FEE_CONFIRMED_KIND,
        text_key="order_update.fee_confirmed",
        fee=format_money(fee, order.currency, store.language),
        total=format_money(total, order.currency, store.language),
    )
    logger.info(
        "order.delivery_fee_confirmed",
        order_id=str(order.id),
        store_id=str(store.id),
        delivery_fee=fee,
        total=total,
    )
    return await get_order(session, store.id, order.id)
