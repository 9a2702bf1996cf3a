"""Staff route confirming the delivery fee of an order placed with a typed address."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.orders.fee_service import confirm_delivery_fee
from zapora.orders.schemas import DeliveryFeeConfirmation, OrderOut

router = APIRouter(prefix="/stores/{store_id}/orders", tags=["orders"])

OrderUpdater = Annotated[User, Depends(require(Permission.ORDERS_UPDATE))]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
    for code, description in {
        404: "The store or order does not exist or belongs to another store.",
        409: "The fee is not pending, or the order is no longer placed.",
        422: "The fee is not a whole number from 0 up to the maximum amount.",
    }.items()
}


@router.post("/{order_id}/delivery-fee", response_model=OrderOut, responses=_RESPONSES)
async def confirm_fee(
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    body: DeliveryFeeConfirmation,
    session: SessionDep,
    user: OrderUpdater,
) -> OrderOut:
    """Confirm the delivery fee of a typed-address order and tell the customer the new total.

    An order placed with a typed address in a store with delivery zones (policy
    `confirm_fee`) carries the store's flat fee as a provisional value and `fee_pending`
    true. It cannot be accepted until this route sets the fee.
    """
    store = await load_store_for(session, user, store_id)
    order = await confirm_delivery_fee(
        session, store, order_id, body.delivery_fee, actor=Actor.staff(user)
    )
    return OrderOut.from_order(order)
