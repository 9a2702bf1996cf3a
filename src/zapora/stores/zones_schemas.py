"""Request and response bodies of the delivery zone API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from zapora.stores.models import DeliveryZone, ZoneKind
from zapora.stores.schemas import Amount
from zapora.text_types import NoFormatCharacters, SingleLine

ZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    SingleLine,
    NoFormatCharacters,
]
# The numbers are strict, so JSON true or "100" is rejected instead of read as 1 or 100.
# A chosen limit: a ring wider than 100 km is taken for a typing mistake.
RadiusMeters = Annotated[StrictInt, Field(ge=1, le=100_000)]
# Up to a day, in minutes.
EstimateMinutes = Annotated[StrictInt, Field(ge=1, le=1440)]
Priority = Annotated[StrictInt, Field(ge=-1000, le=1000)]

_GEOMETRY_HELP = (
    "GeoJSON Polygon or MultiPolygon, positions as [longitude, latitude], rings closed. "
    "Required for kind 'polygon', absent for 'radius'."
)
_RADIUS_HELP = (
    "Distance from the store's location in metres, measured along the Earth's surface. "
    "Required for kind 'radius' (the store needs a latitude and longitude)."
)
_PRIORITY_HELP = (
    "Where several zones contain a point, the highest priority wins, then the lowest fee, "
    "then the zone created first."
)


class ZoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ZoneName
    kind: ZoneKind
    geometry: dict[str, Any] | None = Field(default=None, description=_GEOMETRY_HELP)
    radius_meters: RadiusMeters | None = Field(default=None, description=_RADIUS_HELP)
    fee: Amount = Field(description="Delivery fee in minor units of the store's currency.")
    minimum_order: Amount = Field(
        default=0,
        description="Minimum subtotal of a delivery here, in minor units. It replaces the "
        "store's minimum_order for these deliveries.",
    )
    estimate_minutes: EstimateMinutes = Field(
        description="Minutes from placing the order to its delivery."
    )
    priority: Priority = Field(default=0, description=_PRIORITY_HELP)
    is_active: StrictBool = True


class ZoneUpdate(BaseModel):
    """Partial update body. Only the fields sent change, and only the shape fields take ``null``."""

    model_config = ConfigDict(extra="forbid")
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"geometry", "radius_meters"})

    name: ZoneName | None = None
    kind: ZoneKind | None = None
    geometry: dict[str, Any] | None = Field(default=None, description=_GEOMETRY_HELP)
    radius_meters: RadiusMeters | None = Field(default=None, description=_RADIUS_HELP)
    fee: Amount | None = None
    minimum_order: Amount | None = None
    estimate_minutes: EstimateMinutes | None = None
    priority: Priority | None = Field(default=None, description=_PRIORITY_HELP)
    is_active: StrictBool | None = None

    @field_validator("*")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(
                f"{info.field_name} must not be null. Omit it to keep the current value."
            )
        return value


class ZoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: ZoneKind
    geometry: dict[str, Any] | None
    radius_meters: int | None
    fee: int
    minimum_order: int
    estimate_minutes: int
    priority: int
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, zone: DeliveryZone) -> ZoneOut:
        return cls.model_validate(zone)


class QuoteOut(BaseModel):
    """The delivery terms for a location: the zone serving it and what delivery there costs."""

    zone_id: uuid.UUID | None = Field(
        description="Null when the store has no active zones and applies its flat fee."
    )
    zone_name: str | None
    currency: str
    fee: int = Field(description="Delivery fee in minor units.")
    minimum_order: int = Field(description="Minimum subtotal for this delivery, minor units.")
    estimate_minutes: int | None = Field(description="Null without zones.")
