"""A store's time zone and the UTC bounds of a range of its local days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from zapora.errors import InvalidInputError
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

MAX_RANGE_DAYS = 366


def store_zone(store: Store) -> ZoneInfo:
    """Return the store's IANA time zone, or UTC when its name is not a known zone."""
    try:
        return ZoneInfo(store.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        # Store settings accept any name up to 64 characters, so a typo must not become a 500.
        logger.warning("store.time_zone_unknown", store_id=str(store.id))
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which ``day`` starts in ``zone``."""
    # On a day whose midnight falls in a daylight saving gap, fold=0 keeps the offset from
    # before the change, which maps to the first instant that exists on that day.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class LocalRange:
    """Local days ``first`` to ``last`` (both included) and the UTC instants bounding them."""

    first: date
    last: date
    zone: ZoneInfo
    start: datetime
    end: datetime

    def days(self) -> list[date]:
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=offset) for offset in range(count)]

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()


def local_range(store: Store, first: date, last: date) -> LocalRange:
    """Check a requested range of local days and convert it to UTC bounds, end excluded."""
    if first > last:
        raise InvalidInputError(
            f"The range starts on {first} after it ends on {last}.",
            field="from",
            fix="send a 'from' date on or before the 'to' date",
        )
    length = (last - first).days + 1
    if length > MAX_RANGE_DAYS:
        raise InvalidInputError(
            f"The range covers {length} days, but at most {MAX_RANGE_DAYS} are allowed.",
            field="to",
            fix=f"request at most {MAX_RANGE_DAYS} days at a time",
        )
    zone = store_zone(store)
    try:
        start = local_midnight(first, zone)
        end = local_midnight(last + timedelta(days=1), zone)
    except OverflowError:
        raise InvalidInputError(
            f"The range {first} to {last} is outside the supported calendar.",
            field="to" if last.year == date.max.year else "from",
            fix="send dates between the years 2 and 9998",
        ) from None
    return LocalRange(first=first, last=last, zone=zone, start=start, end=end)
