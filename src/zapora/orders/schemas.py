"""Request and response bodies of the staff orders API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from zapora.orders.models import Fulfilment, Order, OrderStatus, PaymentMethod
from zapora.orders.pricing import MAX_QUANTITY
from zapora.orders.transitions import allowed_next
from zapora.stores.schemas import MAX_AMOUNT as MAX_FEE
from zapora.stores.schemas import Latitude, Longitude
from zapora.text_types import BlankToNone, NoControlCharacters

# Money columns are 32-bit integers on PostgreSQL.
MAX_AMOUNT = 2**31 - 1


# Optional free text: blank becomes null and control characters are rejected.
PhoneText = Annotated[
    Annotated[str, StringConstraints(max_length=32), NoControlCharacters] | None, BlankToNone
]
NameText = Annotated[
    Annotated[str, StringConstraints(max_length=256), NoControlCharacters] | None, BlankToNone
]
NoteText = Annotated[
    Annotated[str, StringConstraints(max_length=500), NoControlCharacters] | None, BlankToNone
]
LongNoteText = Annotated[
    Annotated[str, StringConstraints(max_length=2000), NoControlCharacters] | None,
    BlankToNone,
]


class OrderLineCreate(BaseModel):
    """One requested line. Its price comes from the menu, never from the request."""

    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY)
    option_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    notes: NoteText = None


class OrderCreate(BaseModel):
    """An order entered by staff or an integration."""

    model_config = ConfigDict(extra="forbid")

    lines: list[OrderLineCreate] = Field(min_length=1, max_length=100)
    fulfilment: Fulfilment
    address_text: NoteText = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    payment_method: PaymentMethod
    change_for: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_AMOUNT,
        description="Cash the customer pays with, in minor units, so change can be brought.",
    )
    notes: LongNoteText = None
    customer_name: NameText = None
    customer_phone: PhoneText = None


class DeliveryFeeConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_fee: StrictInt = Field(
        ge=0, le=MAX_FEE, description="The confirmed fee in minor units of the store's currency."
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
    reason: NoteText = None


class LineOptionOut(BaseModel):
    option_id: str
    group: str
    name: str
    price: int


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: uuid.UUID | None
    name: str
    unit_price: int
    quantity: int
    line_total: int
    options: list[LineOptionOut]
    notes: str | None


class OrderEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor_type: str
    actor_id: uuid.UUID | None
    reason: str | None
    created_at: datetime


class OrderSummary(BaseModel):
    """An order as listed: no lines and no history."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: str
    source: str
    fulfilment: str
    payment_method: str
    customer_id: uuid.UUID | None
    customer_name: str | None
    customer_phone: str | None
    currency: str
    subtotal: int
    delivery_fee: int = Field(
        description="Minor units. Provisional while fee_pending is true: the store's flat fee "
        "stands in until staff confirm the fee for the typed address."
    )
    fee_pending: bool = Field(
        description="True while the delivery fee of a typed address awaits staff confirmation "
        "(POST .../delivery-fee); the order cannot be accepted until then."
    )
    total: int
    placed_at: datetime
    delivery_zone_name: str | None = Field(
        description="The delivery zone the location fell in, as named when the order was placed."
    )
    estimate_minutes: int | None = Field(description="The zone's delivery estimate, in minutes.")
    estimated_delivery_at: datetime | None = Field(
        description="placed_at plus the zone's estimate; null without a zone."
    )
    courier_id: uuid.UUID | None = Field(
        description="The courier assigned to deliver the order; null while unassigned."
    )


class OrderOut(OrderSummary):
    """An order with its lines, the statuses it may move to and its status history."""

    address_text: str | None
    latitude: float | None
    longitude: float | None
    change_for: int | None
    notes: str | None
    cancel_reason: str | None
    payment_received_at: datetime | None
    payment_received_by: uuid.UUID | None
    delivery_zone_id: uuid.UUID | None
    zone_minimum_order: int | None = Field(
        description="The zone's minimum order applied when the order was placed."
    )
    courier_assigned_at: datetime | None
    delivery_failed_reason: str | None = Field(
        description="The courier's reason when the last delivery attempt failed."
    )
    allowed_next: list[OrderStatus]
    lines: list[OrderLineOut]
    events: list[OrderEventOut]

    @classmethod
    def from_order(cls, order: Order) -> OrderOut:
        """Build the response from an order loaded with its lines and events."""
        values: dict[str, Any] = {
            name: getattr(order, name) for name in cls.model_fields if name != "allowed_next"
        }
        values["allowed_next"] = allowed_next(order)
        return cls.model_validate(values)


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None = Field(
        description="Value to pass as `cursor` for the next page, or null on the last page."
    )
