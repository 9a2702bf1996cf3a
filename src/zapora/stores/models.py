"""Stores: the tenants. Every store-owned row elsewhere carries ``store_id``."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey


class Language(StrEnum):
    PT_BR = "pt-BR"
    EN = "en"


class Store(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "stores"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    language: Mapped[str] = mapped_column(String(8), default=Language.PT_BR.value)
    whatsapp_phone_number_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    whatsapp_access_token: Mapped[str | None] = mapped_column(String(512))
    delivery_fee: Mapped[int] = mapped_column(default=0)
    minimum_order: Mapped[int] = mapped_column(default=0)
    is_open: Mapped[bool] = mapped_column(default=True)
    # Incremented with UPDATE ... RETURNING so concurrent orders get distinct numbers.
    last_order_number: Mapped[int] = mapped_column(default=0)
