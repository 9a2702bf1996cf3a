"""Tell a customer on WhatsApp that their order moved to a new status."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.customers.models import Customer
from zapora.observability.logging import mask_phone
from zapora.orders.models import Fulfilment, Order, OrderStatus
from zapora.outbox.service import enqueue
from zapora.stores.models import Store
from zapora.whatsapp.texts import CATALOGS, DEFAULT_LANGUAGE, text

logger = structlog.get_logger(__name__)


def status_text_key(order: Order) -> str:
    """Return the text key announcing the order's current status."""
    if order.status == OrderStatus.READY.value and order.fulfilment == Fulfilment.PICKUP.value:
        return "order_status.ready_pickup"
    return f"order_status.{order.status}"


async def notify_status_change(session: AsyncSession, store: Store, order: Order) -> None:
    """Queue the status text for the order's customer in the caller's transaction.

    Orders without a customer (entered by staff) and statuses without a text are skipped.
    The message goes to the customer's ``wa_id`` exactly as stored.
    """
    if order.customer_id is None:
        return
    key = status_text_key(order)
    if key not in CATALOGS[DEFAULT_LANGUAGE]:
        return
    customer = await session.get(Customer, order.customer_id)
    if customer is None or customer.store_id != order.store_id:
        logger.warning(
            "order.customer_missing", order_id=str(order.id), customer_id=str(order.customer_id)
        )
        return
    body = text(store.language, key, number=order.number, reason=order.cancel_reason or "")
    await enqueue(
        session,
        store_id=order.store_id,
        to=customer.wa_id,
        body={"type": "text", "text": {"body": body}},
        customer_id=customer.id,
    )
    logger.info(
        "order.status_notice_queued",
        order_id=str(order.id),
        store_id=str(order.store_id),
        status=order.status,
        to=mask_phone(customer.wa_id),
    )
