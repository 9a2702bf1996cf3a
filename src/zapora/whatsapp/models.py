"""Inbound WhatsApp messages (the inbox) and per-customer conversation state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    # Failed processing a number of times; staff see it and the customer got an apology.
    DEAD = "dead"


class InboundMessage(UUIDPrimaryKey, Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # The worker's sweep takes the oldest pending messages. This index hands them out in
        # that order, so a sweep reads a few rows however long the backlog is.
        Index(
            "ix_inbound_messages_pending_sent_at",
            "sent_at",
            "received_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    # The wamid. Meta delivers at least once, so this constraint is what makes redelivery a no-op.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    wa_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column()


class Conversation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("store_id", "customer_id"),)

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime] = mapped_column()
