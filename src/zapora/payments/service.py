"""PIX charges for a store's orders and staff marking an order's payment as received."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.db import utcnow
from zapora.errors import ConflictError, NotFoundError
from zapora.orders.models import Order, OrderStatus, PaymentMethod
from zapora.payments.pix import (
    MAX_CITY_LENGTH,
    MAX_NAME_LENGTH,
    PixCodeError,
    PixPayload,
    encode,
    make_txid,
    merchant_text,
)
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

PIX_CURRENCY = "BRL"


class PixNotConfiguredError(ConflictError):
    code = "pix_not_configured"
    title = "PIX not configured"


class PixUnavailableError(ConflictError):
    code = "pix_unavailable"
    title = "PIX unavailable for this order"


@dataclass(frozen=True)
class PixCharge:
    code: str
    amount: int
    currency: str
    txid: str


_SETTINGS_FIX = (
    "a store manager sets pix_key, pix_merchant_name and pix_merchant_city "
    "with PATCH /api/v1/stores/{store_id}"
)


def _merchant_fields(store: Store) -> tuple[str, str, str]:
    """Return the store's key, name and city as the code carries them, or raise a 409."""
    if not store.pix_key:
        raise PixNotConfiguredError(
            "The store has no PIX key, so it cannot show a PIX code.",
            field="pix_key",
            fix=_SETTINGS_FIX,
        )
    # The store's own name replaces a missing merchant name, but no city can be guessed.
    name = merchant_text(store.pix_merchant_name or store.name, MAX_NAME_LENGTH).upper()
    city = merchant_text(store.pix_merchant_city or "", MAX_CITY_LENGTH).upper()
    if not name:
        raise PixNotConfiguredError(
            "The store's PIX merchant name has no letters or digits.",
            field="pix_merchant_name",
            fix=_SETTINGS_FIX,
        )
    if not city:
        raise PixNotConfiguredError(
            "The store has no PIX merchant city, which every PIX code must contain.",
            field="pix_merchant_city",
            fix=_SETTINGS_FIX,
        )
    return store.pix_key, name, city


def pix_charge_for(store: Store, order: Order) -> PixCharge:
    """Build the static PIX code for the order's total; raise a 409 if the store cannot."""
    key, name, city = _merchant_fields(store)
    if order.currency != PIX_CURRENCY:
        raise PixUnavailableError(
            f"PIX charges only BRL, and order {order.number} is in {order.currency}.",
            field="currency",
        )
    txid = make_txid(order.number, order.id)
    payload = PixPayload(
        key=key, merchant_name=name, merchant_city=city, amount=order.total, txid=txid
    )
    try:
        code = encode(payload)
    except PixCodeError as exc:
        raise PixUnavailableError(str(exc), fix=_SETTINGS_FIX) from exc
    return PixCharge(code=code, amount=order.total, currency=order.currency, txid=txid)


async def _load_order(
    session: AsyncSession, store_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool = False
) -> Order:
    query = select(Order).where(Order.store_id == store_id, Order.id == order_id)
    if lock:
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    return order


async def get_pix_charge(session: AsyncSession, store: Store, order_id: uuid.UUID) -> PixCharge:
    """Return the PIX code of a store's order paid by PIX; any other order is a 404."""
    order = await _load_order(session, store.id, order_id)
    if order.payment_method != PaymentMethod.PIX.value:
        raise NotFoundError(
            f"Order {order.number} is paid by {order.payment_method}, so it has no PIX code.",
            field="order_id",
        )
    return pix_charge_for(store, order)


async def mark_payment_received(
    session: AsyncSession, store: Store, order_id: uuid.UUID, *, actor: Actor
) -> Order:
    """Record that the order's payment arrived, once; repeating the call changes nothing."""
    # The row lock makes two staff marking at once take turns, so only one entry is audited.
    order = await _load_order(session, store.id, order_id, lock=True)
    if order.status == OrderStatus.CANCELLED.value:
        raise ConflictError(
            f"Order {order.number} is cancelled, so its payment cannot be marked received.",
            field="order_id",
            fix="refund the customer outside Zapora if they paid a cancelled order",
        )
    if order.payment_received_at is not None:
        return order
    order.payment_received_at = utcnow()
    order.payment_received_by = actor.id
    await session.flush()
    await record(
        session,
        action="order.payment_received",
        actor=actor,
        store_id=store.id,
        target_type="order",
        target_id=order.id,
        before={"payment_received_at": None},
        after={
            "payment_received_at": order.payment_received_at.isoformat(),
            "payment_method": order.payment_method,
            "total": order.total,
        },
    )
    logger.info("order.payment_received", order_id=str(order.id), store_id=str(store.id))
    return order
