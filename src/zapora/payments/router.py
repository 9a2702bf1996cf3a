"""Staff routes for an order's payment: its PIX code, the code's QR image, marking it paid."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.payments import service
from zapora.payments.qr import qr_png
from zapora.payments.schemas import PaymentOut, PaymentReceived, PixChargeOut

router = APIRouter(prefix="/stores/{store_id}/orders/{order_id}", tags=["payments"])

OrderReader = Annotated[User, Depends(require(Permission.ORDERS_READ))]
PaymentUpdater = Annotated[User, Depends(require(Permission.PAYMENTS_UPDATE))]

_NOT_FOUND = "The store or order does not exist or belongs to another store."
_PIX_NOT_FOUND = _NOT_FOUND + " Also when the order is not paid by PIX."
_PIX_CONFLICT = "The store has no PIX key or merchant city, or the order is not in BRL."


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


@router.get(
    "/pix",
    response_model=PixChargeOut,
    responses=_problems({404: _PIX_NOT_FOUND, 409: _PIX_CONFLICT}),
)
async def get_pix_code(
    store_id: uuid.UUID, order_id: uuid.UUID, session: SessionDep, user: OrderReader
) -> PixChargeOut:
    """Return the PIX "copia e cola" code that charges the order's total to the store's key."""
    store = await load_store_for(session, user, store_id)
    charge = await service.get_pix_charge(session, store, order_id)
    return PixChargeOut(
        code=charge.code, amount=charge.amount, currency=charge.currency, txid=charge.txid
    )


@router.get(
    "/pix/qr.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The QR code of the PIX code."},
        **_problems({404: _PIX_NOT_FOUND, 409: _PIX_CONFLICT}),
    },
)
async def get_pix_qr(
    store_id: uuid.UUID, order_id: uuid.UUID, session: SessionDep, user: OrderReader
) -> Response:
    """Return the order's PIX code as a PNG QR code for the customer to scan."""
    store = await load_store_for(session, user, store_id)
    charge = await service.get_pix_charge(session, store, order_id)
    # The image shows a code that changes when the total or the store's key does.
    return Response(
        qr_png(charge.code), media_type="image/png", headers={"Cache-Control": "no-store"}
    )


@router.post(
    "/payment",
    response_model=PaymentOut,
    responses=_problems({404: _NOT_FOUND, 409: "The order is cancelled."}),
)
async def mark_payment_received(
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    body: PaymentReceived,
    session: SessionDep,
    user: PaymentUpdater,
) -> PaymentOut:
    """Mark the order's payment as received; repeating it keeps the first time and person."""
    store = await load_store_for(session, user, store_id)
    order = await service.mark_payment_received(session, store, order_id, actor=Actor.staff(user))
    return PaymentOut.from_order(order)
