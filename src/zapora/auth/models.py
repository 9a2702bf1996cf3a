"""Staff users and their roles."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    STORE_MANAGER = "store_manager"
    STORE_STAFF = "store_staff"
    COURIER = "courier"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    # Platform administrators belong to no store; every other role belongs to exactly one.
    store_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
