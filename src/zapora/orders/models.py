"""Orders, their lines, their status history and idempotency keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zapora.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class OrderStatus(StrEnum):
    PLACED = "placed"
    ACCEPTED = "accepted"
    PREPARING = "preparing"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    # The courier could not hand the order over; staff dispatch it again or cancel it.
    DELIVERY_FAILED = "delivery_failed"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"


class Fulfilment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD_ON_DELIVERY = "card_on_delivery"
    PIX = "pix"


class OrderSource(StrEnum):
    WHATSAPP = "whatsapp"
    STAFF = "staff"


class ActorType(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


# Statuses of an order that has not reached its customer yet and still may. The worker's
# late-order notice looks at these only.
UNSETTLED_STATUSES = (
    OrderStatus.PLACED.value,
    OrderStatus.ACCEPTED.value,
    OrderStatus.PREPARING.value,
    OrderStatus.READY.value,
    OrderStatus.OUT_FOR_DELIVERY.value,
)
# The rows the late-order notice reads. A partial index on them stays small as delivered
# orders pile up, and the query must repeat this condition, statuses as literals, to use it.
AWAITING_DELAY_NOTICE = (
    "delay_notified_at IS NULL AND estimated_delivery_at IS NOT NULL AND status IN ("
    + ", ".join(f"'{status}'" for status in UNSETTLED_STATUSES)
    + ")"
)


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "number"),
        # The staff list reads newest first within a store, optionally by status.
        Index("ix_orders_store_id_placed_at_id", "store_id", "placed_at", "id"),
        Index("ix_orders_store_id_status_placed_at", "store_id", "status", "placed_at"),
        # Counting open orders per status across every store, for the metrics gauge.
        Index("ix_orders_status", "status"),
        # The worker's late-order notice reads the oldest estimates among these rows.
        Index(
            "ix_orders_awaiting_delay_notice",
            "estimated_delivery_at",
            postgresql_where=text(AWAITING_DELAY_NOTICE),
            sqlite_where=text(AWAITING_DELAY_NOTICE),
        ),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_name: Mapped[str | None] = mapped_column(String(256))
    customer_phone: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default=OrderStatus.PLACED.value)
    fulfilment: Mapped[str] = mapped_column(String(16))
    address_text: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    payment_method: Mapped[str] = mapped_column(String(32))
    change_for: Mapped[int | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column()
    delivery_fee: Mapped[int] = mapped_column()
    total: Mapped[int] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Unguessable handle of the public tracking page; never derived from the id or number.
    tracking_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    payment_received_at: Mapped[datetime | None] = mapped_column()
    payment_received_by: Mapped[uuid.UUID | None] = mapped_column()
    # The delivery zone the pin fell in, with its values copied when the order was placed.
    delivery_zone_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("delivery_zones.id", ondelete="SET NULL")
    )
    delivery_zone_name: Mapped[str | None] = mapped_column(String(80))
    zone_minimum_order: Mapped[int | None] = mapped_column()
    estimate_minutes: Mapped[int | None] = mapped_column()
    # A typed address without a pin: staff confirm the fee before accepting the order.
    fee_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    estimated_delivery_at: Mapped[datetime | None] = mapped_column()
    # Set once, when the delay message to the customer was queued.
    delay_notified_at: Mapped[datetime | None] = mapped_column()
    # At most one courier: set with a conditional UPDATE so concurrent accepts cannot both win.
    courier_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    courier_assigned_at: Mapped[datetime | None] = mapped_column()
    # Sent to the customer; the courier types it in to prove the handover.
    handover_code: Mapped[str | None] = mapped_column(String(8))
    proof_photo_key: Mapped[str | None] = mapped_column(String(512))
    delivery_failed_reason: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderLine.position"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderEvent.created_at"
    )


class OrderLine(UUIDPrimaryKey, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    # Item price plus the chosen options' prices, copied when the order is placed.
    unit_price: Mapped[int] = mapped_column()
    quantity: Mapped[int] = mapped_column()
    line_total: Mapped[int] = mapped_column()
    options: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(String(500))

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")


class OrderEvent(UUIDPrimaryKey, Base):
    __tablename__ = "order_events"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events", lazy="raise")


class IdempotencyKey(UUIDPrimaryKey, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("store_id", "key"),)

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # Checked at commit: a request stores its key first and then the order the key names.
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderCounter(Base):
    """The last order number a store handed out.

    A row of its own, not a column of ``stores``: every order increments it, and each update
    leaves a dead row version behind until vacuum. On the store's row those versions slowed
    every read of the store, the foreign key checks of each order's rows among them.
    """

    __tablename__ = "store_order_counters"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    # Incremented by an upsert with RETURNING, so concurrent orders get distinct numbers.
    last_number: Mapped[int] = mapped_column(default=0)
