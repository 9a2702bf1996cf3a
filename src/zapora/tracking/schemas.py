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
    at: datetime = Field(description="When the courier's device took the position, in UTC.")


class TrackingOut(BaseModel):
    """The order view shown to anyone holding the tracking link.

    The total is shown because the link goes only to the customer, who already got the
    total in the confirmation message. Lines, payment, notes, cancellation reasons and
    everything that identifies or locates the customer are left out. The courier appears
    only while the order is out for delivery, by first name and last known position.
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
        description="Expected delivery or pickup time in UTC, or null without an estimate."
    )
    estimated_local_at: datetime | None = Field(
        description="The same instant in the store's time zone."
    )
    courier_first_name: str | None = Field(
        description="The courier's first name, only while the order is out for delivery."
    )
    courier_position: CourierPosition | None = Field(
        description="The courier's last known position, only while out for delivery."
    )
