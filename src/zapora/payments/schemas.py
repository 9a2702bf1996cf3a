"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zapora.orders.models import Order


class PixChargeOut(BaseModel):
    code: str = Field(description='The "copia e cola" BR Code of the order.')
    amount: int = Field(description="The order total in centavos.")
    currency: str
    txid: str = Field(description="The transaction id in the code, derived from the order.")


class PaymentReceived(BaseModel):
    model_config = ConfigDict(extra="forbid")

    received: Literal[True] = Field(description="Send true to mark the payment as received.")


class PaymentOut(BaseModel):
    order_id: uuid.UUID
    payment_method: str
    total: int
    currency: str
    payment_received_at: datetime | None
    payment_received_by: uuid.UUID | None

    @classmethod
    def from_order(cls, order: Order) -> PaymentOut:
        return cls(
            order_id=order.id,
            payment_method=order.payment_method,
            total=order.total,
            currency=order.currency,
            payment_received_at=order.payment_received_at,
            payment_received_by=order.payment_received_by,
        )
