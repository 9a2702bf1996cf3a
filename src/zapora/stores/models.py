"""Stores: the tenants. Every store-owned row elsewhere carries ``store_id``."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zapora.db import Base, Timestamps, UUIDPrimaryKey


class Language(StrEnum):
    PT_BR = "pt-BR"
    EN = "en"


class TypedAddressPolicy(StrEnum):
    """Handling of a delivery address typed without a location pin."""

    # Accept the order with the fee to be confirmed by staff before they accept it.
    CONFIRM_FEE = "confirm_fee"
    # Ask the customer for a location pin instead.
    REFUSE = "refuse"


class ZoneKind(StrEnum):
    POLYGON = "polygon"
    RADIUS = "radius"


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
    # Unused: order numbers come from store_order_counters (zapora.orders.models.OrderCounter).
    # Kept for one release, because the previous one numbers orders here during an update.
    last_order_number: Mapped[int] = mapped_column(default=0)
    # Orders are refused this many minutes before closing time.
    last_order_lead_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    # The receiving key and the merchant fields of the static PIX code; no key means no PIX.
    pix_key: Mapped[str | None] = mapped_column(String(77))
    pix_merchant_name: Mapped[str | None] = mapped_column(String(100))
    pix_merchant_city: Mapped[str | None] = mapped_column(String(100))
    # Where orders leave from: the centre of distance-ring zones and the dispatch origin.
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    typed_address_policy: Mapped[str] = mapped_column(
        String(16),
        default=TypedAddressPolicy.CONFIRM_FEE.value,
        server_default=TypedAddressPolicy.CONFIRM_FEE.value,
    )
    # The approved WhatsApp template sent for order updates outside the 24-hour window.
    # Parameters name the values filled into the template body in order, e.g.
    # ["order_number", "status"].
    update_template_name: Mapped[str | None] = mapped_column(String(512))
    update_template_language: Mapped[str | None] = mapped_column(String(16))
    update_template_parameters: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # Seconds a courier has to accept or decline an automatic delivery offer.
    courier_offer_seconds: Mapped[int] = mapped_column(default=60, server_default="60")


class OpeningHours(UUIDPrimaryKey, Base):
    """One weekly opening range in the store's time zone; it may cross midnight."""

    __tablename__ = "store_opening_hours"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    # Monday is 0, as in datetime.weekday(); the range starts on this day.
    weekday: Mapped[int] = mapped_column()
    # Minutes since local midnight; a closing minute at or before the opening one means the
    # range ends on the next day.
    opens_minute: Mapped[int] = mapped_column()
    closes_minute: Mapped[int] = mapped_column()


class StoreClosure(UUIDPrimaryKey, Base):
    """A dated closure (a holiday): no opening range that starts on that local day applies."""

    __tablename__ = "store_closures"
    __table_args__ = (UniqueConstraint("store_id", "day"),)

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class DeliveryZone(UUIDPrimaryKey, Timestamps, Base):
    """An area the store delivers to, with its fee, minimum order and delivery estimate.

    A polygon zone holds a GeoJSON Polygon or MultiPolygon (longitude, latitude order). A
    radius zone holds every point within ``radius_meters`` of the store's location.
    """

    __tablename__ = "delivery_zones"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    geometry: Mapped[dict[str, Any] | None] = mapped_column()
    radius_meters: Mapped[int | None] = mapped_column()
    fee: Mapped[int] = mapped_column()
    minimum_order: Mapped[int] = mapped_column(default=0)
    estimate_minutes: Mapped[int] = mapped_column()
    # Where zones overlap, the higher priority wins; equal priorities take the lower fee.
    priority: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
