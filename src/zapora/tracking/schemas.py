"""The public tracking view of an order: its progress, and nothing about the customer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TrackingStep(BaseModel):
    status: str
    at: datetime = Field(description="When the order reached the status, in UTC.")
    local_at: datetime = Field(description="The same instant in the store's time zone.")


class CourierPosition(BaseModel):
    latitude: float
    longitude: float


class TrackingOut(BaseModel):
    """The order view shown to anyone holding the tracking link.

    The total is shown because the link goes only to the customer, who already got the
    total in the confirmation message. Lines, payment, notes, cancellation reasons and
    everything that identifies or locates the customer are left out.
    """

    order_number: int
    store_name: str
    status: str
    fulfilment: str
    time_zone: str
    total: int = Field(description="Order total in minor units of currency.")
    currency: str
    timeline: list[TrackingStep] = Field(description="Every status change, oldest first.")
    estimated_at: datetime | None = Field(
        description="Expected delivery or pickup time, always null until estimates exist."
    )
    courier_first_name: str | None = Field(description="Always null until couriers exist.")
    courier_position: CourierPosition | None = Field(
        description="Always null until couriers exist."
    )
