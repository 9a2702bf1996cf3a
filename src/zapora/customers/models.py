"""Customers, keyed on the WhatsApp id they write from, and their saved addresses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey


class Customer(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "wa_id"),)

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    # Stored and replied to exactly as WhatsApp sent it: some Brazilian accounts lack the
    # ninth digit, and a rebuilt number reaches nobody.
    wa_id: Mapped[str] = mapped_column(String(32))
    business_scoped_user_id: Mapped[str | None] = mapped_column(String(128))
    profile_name: Mapped[str | None] = mapped_column(String(256))
    last_message_at: Mapped[datetime | None] = mapped_column()


class CustomerAddress(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "customer_addresses"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
