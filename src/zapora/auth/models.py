"""Staff users, their roles and their refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    STORE_MANAGER = "store_manager"
    STORE_STAFF = "store_staff"
    COURIER = "courier"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    # Shown to customers for couriers (first name only) and to staff in lists.
    full_name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    # Platform administrators belong to no store; every other role belongs to exactly one.
    store_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    # Carried in every token; bumping it (password or role change, disabling) voids them all.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")


class RefreshToken(UUIDPrimaryKey, Base):
    """One refresh token of a rotation family; only its SHA-256 digest is stored."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # Set when the token was exchanged for its successor; a second use is a reuse.
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
