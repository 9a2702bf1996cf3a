"""Opening hours: whether a store takes orders at an instant, and when it opens next.

Weekly ranges are in the store's local wall time. A range belongs to the local day it
starts on and ends on the next day when its closing minute is at or before its opening
minute (Friday 18:00-02:00 ends Saturday 02:00). A dated closure removes the ranges that
start on that local day. A range that starts the evening before and crosses midnight into
a closure day still runs until its closing time.

Daylight saving time follows PEP 495 as implemented by ``zoneinfo``: a wall time repeated
when clocks go back means its first occurrence, and a wall time skipped when clocks go
forward means the first instant the clock reads it or later (the end of the gap).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# How far ahead the next opening is searched.
SEARCH_DAYS = 14


@dataclass(frozen=True)
class WeeklyRange:
    """One weekly opening range: Monday is weekday 0, minutes count from local midnight."""

    weekday: int
    opens_minute: int
    closes_minute: int


@dataclass(frozen=True)
class OpeningStatus:
    """Whether orders are taken now, when the current opening ends and when the next starts.

    ``closes_at`` is the end of the current opening, set only while ``open``, and None when
    that opening lasts past the search window. ``last_order_at`` is ``closes_at`` minus
    the last-order lead time. ``opens_next_at`` is the first later instant at which orders
    are taken again, None when there is none in the search window. All are aware UTC.
    """

    open: bool
    closes_at: datetime | None = None
    last_order_at: datetime | None = None
    opens_next_at: datetime | None = None


def wall_time_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Convert a naive local wall time to UTC, moving a skipped wall time to the gap's end."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # The wall time falls in a spring-forward gap. The instant read with the offset after
    # the gap is before the gap, the one read with the offset before it is after the gap.
    # Search the minutes between them for the first instant whose wall time is not earlier.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    steps = (first - low) // timedelta(minutes=1)
    # Invariant: the wall time at step ``below`` is earlier than ``local``, at ``above`` not.
    below, above = 0, steps
    while above - below > 1:
        middle = (below + above) // 2
        instant = low + timedelta(minutes=middle)
        if instant.astimezone(zone).replace(tzinfo=None) >= local:
            above = middle
        else:
            below = middle
    return first if above == steps else low + timedelta(minutes=above)


def _local_minute(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return wall_time_to_utc(datetime.combine(day, time()) + timedelta(minutes=minute), zone)


def _periods(
    ranges: Iterable[WeeklyRange], closures: Collection[date], zone: ZoneInfo, today: date
) -> list[tuple[datetime, datetime]]:
    """Return the UTC opening periods starting from yesterday on, merged where they touch."""
    intervals = []
    by_weekday: dict[int, list[WeeklyRange]] = {}
    for weekly in ranges:
        by_weekday.setdefault(weekly.weekday, []).append(weekly)
    for offset in range(-1, SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        if day in closures:
            continue
        for weekly in by_weekday.get(day.weekday(), []):
            closes = weekly.closes_minute
            if closes <= weekly.opens_minute:
                closes += MINUTES_PER_DAY
            start = _local_minute(day, weekly.opens_minute, zone)
            end = _local_minute(day, closes, zone)
            if end > start:
                intervals.append((start, end))
    intervals.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def opening_status(
    ranges: Iterable[WeeklyRange],
    closures: Collection[date],
    zone: ZoneInfo,
    now: datetime,
    lead_minutes: int = 0,
) -> OpeningStatus:
    """Compute the opening status at ``now`` (aware) from the weekly ranges and closures.

    Orders are taken from a period's start until ``lead_minutes`` before its end, so a
    period no longer than the lead time never takes orders.
    """
    lead = timedelta(minutes=lead_minutes)
    periods = _periods(ranges, closures, zone, now.astimezone(zone).date())
    horizon_end = now + timedelta(days=SEARCH_DAYS)
    current: tuple[datetime, datetime] | None = None
    opens_next_at = None
    for start, end in periods:
        if end - start <= lead:
            continue
        if start <= now < end - lead and current is None:
            current = (start, end)
        elif start > now and opens_next_at is None:
            opens_next_at = start
    if opens_next_at is not None and opens_next_at > horizon_end:
        opens_next_at = None
    if current is None:
        return OpeningStatus(open=False, opens_next_at=opens_next_at)
    closes_at: datetime | None = current[1]
    # The last period may be cut short by the search window, so its end is not known.
    if periods and current[1] == periods[-1][1] and current[1] > horizon_end:
        closes_at = None
    return OpeningStatus(
        open=True,
        closes_at=closes_at,
        last_order_at=closes_at - lead if closes_at is not None else None,
        opens_next_at=opens_next_at,
    )


def is_open_at(
    ranges: Iterable[WeeklyRange],
    closures: Collection[date],
    zone: ZoneInfo,
    now: datetime,
    lead_minutes: int = 0,
) -> bool:
    """Return whether orders are taken at ``now``."""
    return opening_status(ranges, closures, zone, now, lead_minutes).open


def next_opening(
    ranges: Iterable[WeeklyRange],
    closures: Collection[date],
    zone: ZoneInfo,
    now: datetime,
    lead_minutes: int = 0,
) -> datetime | None:
    """Return the first instant after ``now``'s opening at which orders are taken, in UTC."""
    return opening_status(ranges, closures, zone, now, lead_minutes).opens_next_at
