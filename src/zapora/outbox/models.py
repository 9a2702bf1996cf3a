"""Outbound messages, written in the transaction that caused them and sent afterwards."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, UUIDPrimaryKey, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Replaced by a newer update about the same order before it was sent.
    SUPERSEDED = "superseded"


class DeliveryStatus(StrEnum):
    """Delivery progress reported by WhatsApp; ranks only move forwards."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


DELIVERY_STATUS_RANK = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


class OutboxMessage(UUIDPrimaryKey, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # The claim skips a row while an older one to the same number is pending. This
        # index serves that check from the pending rows instead of every row of the store.
        Index(
            "ix_outbox_messages_pending_store_id_to",
            "store_id",
            "to",
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # What the message is about ("reply", "status", "assignment", "delay", "pix", ...).
    kind: Mapped[str] = mapped_column(String(32), default="reply", server_default="reply")
    # The template message to send instead when the free-form body is refused for the
    # 24-hour window (Graph error 131047); same shape as ``body``.
    template_body: Mapped[dict[str, Any] | None] = mapped_column()
    to: Mapped[str] = mapped_column(String(32))
    # The Graph API message object without "messaging_product" and "to", e.g.
    # {"type": "text", "text": {"body": "..."}}.
    body: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender that claims a row owns it until this instant; a crashed sender's rows come back.
    locked_until: Mapped[datetime | None] = mapped_column()
    graph_message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    error_code: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(Text)
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_status_at: Mapped[datetime | None] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
