"""Courier state and delivery offers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, UUIDPrimaryKey, utcnow


class CourierState(Base):
    """One row per courier user: shift, last known position and when it was taken."""

    __tablename__ = "courier_states"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    on_shift: Mapped[bool] = mapped_column(default=False)
    shift_started_at: Mapped[datetime | None] = mapped_column()
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    # The device's timestamp of the position; an older report never replaces a newer one.
    position_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    # The order was assigned another way (by staff, or cancelled) while the offer was open.
    WITHDRAWN = "withdrawn"


class DeliveryOffer(UUIDPrimaryKey, Base):
    """An order offered to one courier for a limited time."""

    __tablename__ = "delivery_offers"
    __table_args__ = (Index("ix_delivery_offers_status_expires_at", "status", "expires_at"),)

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    courier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.OFFERED.value)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column()
