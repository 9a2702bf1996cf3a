"""Opening ranges placed relative to the real current time in a store's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from zapora.db import utcnow


def range_from_now(
    zone_name: str, start_minutes: int, length_minutes: int
) -> tuple[dict[str, object], datetime, datetime]:
    """Build a weekly range starting ``start_minutes`` from now, with its UTC start and end.

    The start is rounded down to the minute, because ranges hold whole minutes.
    """
    zone = ZoneInfo(zone_name)
    start = (utcnow() + timedelta(minutes=start_minutes)).astimezone(zone)
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=length_minutes)
    body = {"weekday": start.weekday(), "opens": f"{start:%H:%M}", "closes": f"{end:%H:%M}"}
    return body, start.astimezone(UTC), end.astimezone(UTC)
