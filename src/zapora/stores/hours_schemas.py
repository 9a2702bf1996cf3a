"""Request and response bodies of the opening hours, closures and status routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A wall time on a 24-hour clock, 00:00 to 23:59.
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
ClosureReason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
# Seven days with a handful of ranges each is far below this.
MAX_RANGES = 70


class HoursRange(BaseModel):
    """One weekly range in the store's time zone.

    A closing time at or before the opening time ends the range on the next day.
    """

    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="Day the range starts on: 0 is Monday.")
    opens: ClockTime = Field(description="Local opening time, HH:MM.")
    closes: ClockTime = Field(description="Local closing time, HH:MM.")


class ClosureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="Local date on which no opening range starts.")
    reason: ClosureReason | None = None


class ClosureOut(BaseModel):
    id: uuid.UUID
    day: date
    reason: str | None


class StatusOut(BaseModel):
    """Opening status of a store now, with instants in UTC and in the store's local time."""

    open: bool
    is_open_switch: bool = Field(description="The manual switch. Off closes the store.")
    time_zone: str
    closes_at: datetime | None
    closes_at_local: str | None
    last_order_at: datetime | None
    last_order_at_local: str | None
    opens_next_at: datetime | None
    opens_next_at_local: str | None
