"""A courier's own deliveries: pick up, hand over with the code or a photo, or report failure."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.models import AuditEntry
from zapora.audit.service import Actor, record
from zapora.auth.models import User
from zapora.delivery.couriers import FINISHED_STATUSES
from zapora.errors import ConflictError, InvalidInputError, NotFoundError, ZaporaError
from zapora.orders import service as orders
from zapora.orders.models import Order, OrderStatus
from zapora.storage import ObjectStorage, SignedUrl
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

# Wrong handover codes accepted per order before only a photo can prove the delivery. With
# 4 digits, a guesser has 5 tries at 10,000 codes.
MAX_CODE_ATTEMPTS = 5
CODE_REJECTED_ACTION = "order.handover_code_rejected"
_IMAGE_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


class WrongHandoverCodeError(InvalidInputError):
    code = "wrong_handover_code"
    title = "Wrong handover code"


class TooManyCodeAttemptsError(ZaporaError):
    status_code = 429
    code = "too_many_code_attempts"
    title = "Too many wrong handover codes"


class PhotoTooLargeError(ZaporaError):
    status_code = 413
    code = "payload_too_large"
    title = "Photo too large"


class UnsupportedPhotoError(ZaporaError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported photo type"


@dataclass(frozen=True)
class ProofPhoto:
    data: bytes
    content_type: str
    extension: str


def check_photo(data: bytes, *, max_bytes: int) -> ProofPhoto:
    """Accept a JPEG or PNG no larger than ``max_bytes``, judged by its first bytes."""
    if len(data) > max_bytes:
        raise PhotoTooLargeError(
            f"The photo has {len(data)} bytes, more than the maximum of {max_bytes}.",
            field="photo",
            fix=f"send a smaller or more compressed photo, at most {max_bytes} bytes",
        )
    for magic, content_type, extension in _IMAGE_TYPES:
        if data.startswith(magic):
            return ProofPhoto(data, content_type, extension)
    raise UnsupportedPhotoError(
        "The photo is neither a JPEG nor a PNG image.",
        field="photo",
        fix="send the photo as JPEG or PNG",
    )


async def list_deliveries(session: AsyncSession, courier: User) -> list[Order]:
    """Return the courier's orders that are not finished, oldest assignment first."""
    orders_ = await session.scalars(
        select(Order)
        .where(
            Order.store_id == courier.store_id,
            Order.courier_id == courier.id,
            Order.status.not_in(FINISHED_STATUSES),
        )
        .order_by(Order.courier_assigned_at, Order.id)
    )
    return list(orders_)


async def _own_order(
    session: AsyncSession, courier: User, order_id: uuid.UUID
) -> tuple[Order, Store]:
    """Load and lock an order assigned to the courier, else raise 404."""
    order = await session.scalar(
        select(Order)
        .where(
            Order.id == order_id,
            Order.store_id == courier.store_id,
            Order.courier_id == courier.id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} is not one of your deliveries.", field="order_id")
    store = await session.get(Store, order.store_id)
    assert store is not None
    return order, store


def _require_out_for_delivery(order: Order) -> None:
    if order.status != OrderStatus.OUT_FOR_DELIVERY.value:
        raise ConflictError(
            f"Order #{order.number} is '{order.status}', not out for delivery.",
            field="status",
            fix="mark the order picked up first",
            extra={"current_status": order.status},
        )


async def mark_picked_up(session: AsyncSession, courier: User, order_id: uuid.UUID) -> Order:
    """Move the courier's order from ready to out for delivery."""
    order, store = await _own_order(session, courier, order_id)
    return await orders.change_status(
        session, store, order.id, OrderStatus.OUT_FOR_DELIVERY, actor=Actor.staff(courier)
    )


async def _code_attempts(session: AsyncSession, order: Order) -> int:
    count = await session.scalar(
        select(func.count()).where(
            AuditEntry.store_id == order.store_id,
            AuditEntry.action == CODE_REJECTED_ACTION,
            AuditEntry.target_id == str(order.id),
        )
    )
    return int(count or 0)


async def _check_code(session: AsyncSession, courier: User, order: Order, code: str) -> None:
    """Raise unless ``code`` is the order's handover code, and record a wrong one.

    The caller commits before passing the error on, so the wrong attempt counts even
    though the request fails.
    """
    attempts = await _code_attempts(session, order)
    if attempts >= MAX_CODE_ATTEMPTS:
        raise TooManyCodeAttemptsError(
            f"The handover code of order #{order.number} was wrong {attempts} times.",
            field="handover_code",
            fix="prove the delivery with a photo instead",
        )
    expected = order.handover_code or ""
    if expected and hmac.compare_digest(code.strip().encode(), expected.encode()):
        return
    await record(
        session,
        action=CODE_REJECTED_ACTION,
        actor=Actor.staff(courier),
        store_id=order.store_id,
        target_type="order",
        target_id=order.id,
    )
    left = MAX_CODE_ATTEMPTS - attempts - 1
    raise WrongHandoverCodeError(
        f"The handover code does not match order #{order.number}.",
        field="handover_code",
        fix="ask the customer for the code sent to them on WhatsApp, or send a photo",
        extra={"attempts_left": left},
    )


async def mark_delivered(
    session: AsyncSession,
    storage: ObjectStorage,
    courier: User,
    order_id: uuid.UUID,
    *,
    handover_code: str | None,
    photo: ProofPhoto | None,
) -> Order:
    """Complete the delivery, proven by a photo or else by the customer's handover code."""
    if not (handover_code and handover_code.strip()) and photo is None:
        raise InvalidInputError(
            "A delivery needs the handover code or a photo as proof.",
            field="handover_code",
            fix="send the form field handover_code, or a JPEG or PNG file in the field photo",
        )
    order, store = await _own_order(session, courier, order_id)
    _require_out_for_delivery(order)
    # A photo is the proof when both are sent, so a code locked after wrong guesses, or
    # mistyped, does not block a delivery the photo proves.
    if photo is None and handover_code is not None:
        await _check_code(session, courier, order, handover_code)
    if photo is not None:
        key = f"proof/{store.id}/{order.id}/{uuid.uuid4().hex}.{photo.extension}"
        # NOTE: a photo stays in storage if this transaction fails after the upload.
        await storage.put(key, photo.data, photo.content_type)
        order.proof_photo_key = key
        await session.flush()
    return await orders.change_status(
        session, store, order.id, OrderStatus.DELIVERED, actor=Actor.staff(courier)
    )


async def mark_failed(
    session: AsyncSession, courier: User, order_id: uuid.UUID, *, reason: str
) -> Order:
    """Report that the order could not be handed over, so staff dispatch it again or cancel it."""
    order, store = await _own_order(session, courier, order_id)
    _require_out_for_delivery(order)
    order.delivery_failed_reason = reason.strip()
    await session.flush()
    return await orders.change_status(
        session,
        store,
        order.id,
        OrderStatus.DELIVERY_FAILED,
        actor=Actor.staff(courier),
        reason=reason.strip(),
    )


async def proof_photo_url(
    session: AsyncSession, storage: ObjectStorage, store: Store, order_id: uuid.UUID
) -> SignedUrl:
    """Return a short-lived URL of the order's proof photo and when it expires."""
    order = await session.scalar(
        select(Order).where(Order.id == order_id, Order.store_id == store.id)
    )
    if order is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    if order.proof_photo_key is None:
        raise NotFoundError(
            f"Order #{order.number} has no proof photo.",
            field="order_id",
            fix="the courier proved this delivery with the handover code, or has not yet",
        )
    return await storage.signed_url(order.proof_photo_key)
