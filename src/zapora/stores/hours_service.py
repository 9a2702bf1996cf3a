"""Opening hours and closures of a store: reading, replacing, and the status at an instant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import bindparam, cast, delete, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, record
from zapora.errors import ConflictError, InvalidInputError, NotFoundError
from zapora.stores.hours import (
    MINUTES_PER_DAY,
    SEARCH_DAYS,
    OpeningStatus,
    WeeklyRange,
    opening_status,
)
from zapora.stores.hours_schemas import ClosureCreate, HoursRange
from zapora.stores.models import OpeningHours, Store, StoreClosure
from zapora.stores.terms_changes import note_terms_change

logger = structlog.get_logger(__name__)

MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe(weekly: WeeklyRange) -> str:
    opens, closes = _clock(weekly.opens_minute), _clock(weekly.closes_minute)
    return f"{WEEKDAY_NAMES[weekly.weekday]} {opens}-{closes}"


def _week_span(weekly: WeeklyRange) -> tuple[int, int]:
    """Return the range as (start, length) in minutes since Monday 00:00."""
    length = (weekly.closes_minute - weekly.opens_minute) % MINUTES_PER_DAY
    return weekly.weekday * MINUTES_PER_DAY + weekly.opens_minute, length


def _overlap(first: WeeklyRange, second: WeeklyRange) -> bool:
    # The week is a circle: Sunday's 22:00-02:00 runs into Monday morning.
    first_start, first_length = _week_span(first)
    second_start, second_length = _week_span(second)
    return (second_start - first_start) % MINUTES_PER_WEEK < first_length or (
        first_start - second_start
    ) % MINUTES_PER_WEEK < second_length


def validate_ranges(ranges: Sequence[HoursRange]) -> list[WeeklyRange]:
    """Convert request ranges to minutes, raising InvalidInputError for empty or overlapping ones.

    Overlaps are checked across midnight too, so a Friday 18:00-02:00 range conflicts with
    a Saturday range opening before 02:00.
    """
    weekly_ranges: list[WeeklyRange] = []
    for index, item in enumerate(ranges):
        weekly = WeeklyRange(item.weekday, _minute(item.opens), _minute(item.closes))
        if weekly.opens_minute == weekly.closes_minute:
            raise InvalidInputError(
                f"Range {index} opens and closes at the same time, {item.opens}.",
                field=f"body[{index}].closes",
                fix="send a closing time different from the opening time",
            )
        for earlier_index, earlier in enumerate(weekly_ranges):
            if _overlap(earlier, weekly):
                raise InvalidInputError(
                    f"Range {index} ({_describe(weekly)}) overlaps range {earlier_index} "
                    f"({_describe(earlier)}).",
                    field=f"body[{index}].opens",
                    fix="merge the two ranges or move one so they do not overlap",
                )
        weekly_ranges.append(weekly)
    return weekly_ranges


def _to_schema(row: OpeningHours | WeeklyRange) -> HoursRange:
    return HoursRange(
        weekday=row.weekday, opens=_clock(row.opens_minute), closes=_clock(row.closes_minute)
    )


def _audit_list(ranges: Sequence[HoursRange]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in ranges]


async def load_ranges(session: AsyncSession, store_id: uuid.UUID) -> list[OpeningHours]:
    """Return the store's weekly ranges ordered by weekday and opening time."""
    query = (
        select(OpeningHours)
        .where(OpeningHours.store_id == store_id)
        .order_by(OpeningHours.weekday, OpeningHours.opens_minute)
    )
    return list(await session.scalars(query))


async def get_hours(session: AsyncSession, store: Store) -> list[HoursRange]:
    """Return the store's weekly ranges as HH:MM times."""
    return [_to_schema(row) for row in await load_ranges(session, store.id)]


async def replace_hours(
    session: AsyncSession, store: Store, ranges: Sequence[HoursRange], *, actor: Actor
) -> list[HoursRange]:
    """Validate ``ranges`` and replace every weekly range of the store with them."""
    weekly_ranges = validate_ranges(ranges)
    before = await get_hours(session, store)
    await session.execute(delete(OpeningHours).where(OpeningHours.store_id == store.id))
    for weekly in weekly_ranges:
        session.add(
            OpeningHours(
                store_id=store.id,
                weekday=weekly.weekday,
                opens_minute=weekly.opens_minute,
                closes_minute=weekly.closes_minute,
            )
        )
    await session.flush()
    note_terms_change(session, store.id)
    after = await get_hours(session, store)
    await record(
        session,
        action="store.hours_updated",
        actor=actor,
        store_id=store.id,
        target_type="store",
        target_id=store.id,
        before={"hours": _audit_list(before)},
        after={"hours": _audit_list(after)},
    )
    logger.info("store.hours_updated", store_id=str(store.id), ranges=len(after))
    return after


async def list_closures(session: AsyncSession, store: Store) -> list[StoreClosure]:
    """Return the store's closures ordered by day."""
    query = select(StoreClosure).where(StoreClosure.store_id == store.id)
    return list(await session.scalars(query.order_by(StoreClosure.day)))


def _duplicate_closure(data: ClosureCreate) -> ConflictError:
    return ConflictError(
        f"The store already has a closure on {data.day.isoformat()}.",
        field="day",
        fix="delete the existing closure first, or choose another day",
    )


async def add_closure(
    session: AsyncSession, store: Store, data: ClosureCreate, *, actor: Actor
) -> StoreClosure:
    """Insert a closure, or raise ConflictError when the store has one on that day."""
    query = select(StoreClosure.id).where(
        StoreClosure.store_id == store.id, StoreClosure.day == data.day
    )
    if await session.scalar(query) is not None:
        raise _duplicate_closure(data)
    closure = StoreClosure(store_id=store.id, day=data.day, reason=data.reason)
    session.add(closure)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent request added a closure on the same day after the check above.
        raise _duplicate_closure(data) from exc
    note_terms_change(session, store.id)
    await record(
        session,
        action="store.closure_added",
        actor=actor,
        store_id=store.id,
        target_type="store_closure",
        target_id=closure.id,
        after={"day": data.day.isoformat(), "reason": data.reason},
    )
    logger.info("store.closure_added", store_id=str(store.id), closure_id=str(closure.id))
    return closure


async def delete_closure(
    session: AsyncSession, store: Store, closure_id: uuid.UUID, *, actor: Actor
) -> None:
    """Delete one of the store's closures. Another store's closure raises NotFoundError."""
    closure = await session.scalar(
        select(StoreClosure).where(StoreClosure.id == closure_id, StoreClosure.store_id == store.id)
    )
    if closure is None:
        raise NotFoundError(f"Closure {closure_id} not found.", field="closure_id")
    before = {"day": closure.day.isoformat(), "reason": closure.reason}
    await session.delete(closure)
    await session.flush()
    note_terms_change(session, store.id)
    await record(
        session,
        action="store.closure_deleted",
        actor=actor,
        store_id=store.id,
        target_type="store_closure",
        target_id=closure_id,
        before=before,
    )
    logger.info("store.closure_deleted", store_id=str(store.id), closure_id=str(closure_id))


# One query reads both: weekly ranges have no day, closures have only a day. Built once,
# since only its parameters change.
_HOURS_QUERY = union_all(
    select(
        OpeningHours.weekday,
        OpeningHours.opens_minute,
        OpeningHours.closes_minute,
        cast(null(), StoreClosure.day.type).label("day"),
    ).where(OpeningHours.store_id == bindparam("store_id")),
    select(null(), null(), null(), StoreClosure.day).where(
        StoreClosure.store_id == bindparam("store_id"),
        StoreClosure.day >= bindparam("first_day"),
        StoreClosure.day <= bindparam("last_day"),
    ),
)


@dataclass(frozen=True)
class StoreHours:
    """A store's weekly ranges, sorted, and its closures around one local day."""

    ranges: tuple[WeeklyRange, ...]
    closures: frozenset[date]


async def load_store_hours(session: AsyncSession, store_id: uuid.UUID, today: date) -> StoreHours:
    """Read the weekly ranges, and the closures that can matter on the local day ``today``."""
    ranges: list[WeeklyRange] = []
    closures: set[date] = set()
    rows = await session.execute(
        _HOURS_QUERY,
        {
            "store_id": store_id,
            "first_day": today - timedelta(days=1),
            "last_day": today + timedelta(days=SEARCH_DAYS + 1),
        },
    )
    for weekday, opens_minute, closes_minute, day in rows:
        if day is None:
            ranges.append(WeeklyRange(weekday, opens_minute, closes_minute))
        else:
            closures.add(day)
    ranges.sort(key=lambda weekly_range: (weekly_range.weekday, weekly_range.opens_minute))
    return StoreHours(tuple(ranges), frozenset(closures))


class HoursSource(Protocol):
    """A source of stores' hours that ``store_status`` reads instead of the database."""

    async def hours(self, session: AsyncSession, store_id: uuid.UUID, today: date) -> StoreHours:
        """Return the store's hours around the local day ``today``."""
        ...


class StoreHoursCache:
    """Opening hours read once for a run of work, such as a batch of inbound messages.

    Each store's hours are read on first use, in the caller's session, and kept for as
    long as this object lives, so a change of hours is seen by the next batch. Keep one
    only as long as a reply based on hours that are that old is acceptable.
    """

    def __init__(self) -> None:
        self._hours: dict[tuple[uuid.UUID, date], StoreHours] = {}
        # Reads under way, which concurrent callers wait for instead of reading too.
        self._reading: dict[tuple[uuid.UUID, date], asyncio.Future[StoreHours]] = {}

    async def hours(self, session: AsyncSession, store_id: uuid.UUID, today: date) -> StoreHours:
        key = (store_id, today)
        while True:
            hours = self._hours.get(key)
            if hours is not None:
                return hours
            reading = self._reading.get(key)
            if reading is None:
                break
            await asyncio.wait((reading,))
            # A read that failed is cancelled, and the next caller reads in its own session.
        reading = asyncio.get_running_loop().create_future()
        self._reading[key] = reading
        try:
            hours = await load_store_hours(session, store_id, today)
        except BaseException:
            reading.cancel()
            raise
        else:
            self._hours[key] = hours
            reading.set_result(hours)
        finally:
            del self._reading[key]
        return hours


async def store_status(
    session: AsyncSession,
    store: Store,
    now: datetime,
    *,
    hours_cache: HoursSource | None = None,
) -> OpeningStatus:
    """Return whether the store takes orders at ``now``.

    The manual switch ``is_open`` off closes the store with no known reopening. A store
    without weekly ranges follows the switch alone, and its closures are ignored. With
    ``hours_cache`` the ranges and closures come from it; the switch is always the store's.
    """
    if not store.is_open:
        return OpeningStatus(open=False)
    zone = ZoneInfo(store.time_zone)
    today = now.astimezone(zone).date()
    if hours_cache is None:
        hours = await load_store_hours(session, store.id, today)
    else:
        hours = await hours_cache.hours(session, store.id, today)
    if not hours.ranges:
        return OpeningStatus(open=True)
    return opening_status(hours.ranges, hours.closures, zone, now, store.last_order_lead_minutes)
