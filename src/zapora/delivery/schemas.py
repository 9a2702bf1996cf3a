"""Request and response bodies of the courier and dispatch APIs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from zapora.stores.schemas import Latitude, Longitude
from zapora.text_types import NoControlCharacters, NotBlank

FailureReason = Annotated[str, StringConstraints(max_length=500), NoControlCharacters, NotBlank]


class ShiftChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_shift: bool


class PositionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: Latitude
    longitude: Longitude
    recorded_at: AwareDatetime = Field(
        description="When the device took the position, with its UTC offset."
    )

    @field_validator("recorded_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        # An offset can push a time at the edge of the calendar past year 1 or 9999 in UTC.
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside the range of dates; send the current time") from None


class CourierStateOut(BaseModel):
    """A courier's own shift and last position."""

    on_shift: bool
    shift_started_at: datetime | None
    latitude: float | None
    longitude: float | None
    position_at: datetime | None
    # False when the report was older than the stored position and so was not applied.
    position_applied: bool | None = None


class CourierOut(BaseModel):
    """A courier as dispatch staff see them."""

    id: uuid.UUID
    full_name: str | None
    email: str
    is_active: bool
    on_shift: bool
    shift_started_at: datetime | None
    latitude: float | None
    longitude: float | None
    position_at: datetime | None
    position_age_seconds: int | None
    load: int = Field(description="Orders assigned to the courier and not yet finished.")


class CourierList(BaseModel):
    items: list[CourierOut]


class CourierAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    courier_id: uuid.UUID


class AssignmentOut(BaseModel):
    order_id: uuid.UUID
    order_number: int
    status: str
    courier_id: uuid.UUID
    courier_name: str | None
    courier_assigned_at: datetime


class OrderBrief(BaseModel):
    """The fields of an order a courier needs to take and deliver it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: str
    customer_name: str | None
    address_text: str | None
    latitude: float | None
    longitude: float | None
    payment_method: str
    change_for: int | None
    currency: str
    total: int
    notes: str | None


class OfferOut(BaseModel):
    id: uuid.UUID
    status: str
    offered_at: datetime
    expires_at: datetime
    distance_meters: int | None = Field(
        description="From the store to the delivery pin, when both are known."
    )
    order: OrderBrief


class OfferList(BaseModel):
    items: list[OfferOut]


class DeliveryOut(BaseModel):
    order: OrderBrief
    courier_assigned_at: datetime | None
    delivery_failed_reason: str | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class DeliveryFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: FailureReason = Field(description="Why the order could not be handed over.")


class SignedUrlOut(BaseModel):
    url: str
    expires_at: datetime
