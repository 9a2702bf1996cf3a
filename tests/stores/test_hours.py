"""Opening hours logic: ranges, midnight crossing, closures, lead time, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from zapora.errors import InvalidInputError
from zapora.stores.hours import (
    WeeklyRange,
    is_open_at,
    next_opening,
    opening_status,
    wall_time_to_utc,
)
from zapora.stores.hours_schemas import HoursRange
from zapora.stores.hours_service import validate_ranges

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")
LISBON = ZoneInfo("Europe/Lisbon")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
# 2026-01-05 is a Monday. Sao Paulo is at UTC-3 all year.
MONDAY = date(2026, 1, 5)


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    """Return the UTC instant of a wall time that exists exactly once in ``zone``."""
    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    return wall.astimezone(UTC)


def weekday_of(offset: int) -> date:
    return date(2026, 1, 5 + offset)


def span(weekday: int, opens: str, closes: str) -> WeeklyRange:
    def minute(clock: str) -> int:
        hours, minutes = clock.split(":")
        return int(hours) * 60 + int(minutes)

    return WeeklyRange(weekday, minute(opens), minute(closes))


LUNCH_AND_DINNER = [span(MON, "11:00", "15:00"), span(MON, "18:00", "23:00")]


def test_open_inside_range() -> None:
    status = opening_status(LUNCH_AND_DINNER, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 12))

    assert status.open is True
    assert status.closes_at == local(SAO_PAULO, MONDAY, 15)
    assert status.last_order_at == local(SAO_PAULO, MONDAY, 15)
    assert status.opens_next_at == local(SAO_PAULO, MONDAY, 18)


def test_closed_between_ranges() -> None:
    status = opening_status(LUNCH_AND_DINNER, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 16))

    assert status.open is False
    assert status.closes_at is None
    assert status.opens_next_at == local(SAO_PAULO, MONDAY, 18)


def test_range_edges_half_open() -> None:
    opening = local(SAO_PAULO, MONDAY, 11)
    closing = local(SAO_PAULO, MONDAY, 15)

    assert is_open_at(LUNCH_AND_DINNER, set(), SAO_PAULO, opening) is True
    assert is_open_at(LUNCH_AND_DINNER, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 10, 59)) is False
    assert is_open_at(LUNCH_AND_DINNER, set(), SAO_PAULO, closing) is False


def test_after_last_range_waits_a_week() -> None:
    now = local(SAO_PAULO, MONDAY, 23, 30)

    assert next_opening(LUNCH_AND_DINNER, set(), SAO_PAULO, now) == local(
        SAO_PAULO, date(2026, 1, 12), 11
    )


def test_range_crossing_midnight() -> None:
    late_friday = [span(FRI, "18:00", "02:00")]
    saturday = weekday_of(SAT)

    after_midnight = opening_status(
        late_friday, set(), SAO_PAULO, local(SAO_PAULO, saturday, 1, 30)
    )
    at_close = opening_status(late_friday, set(), SAO_PAULO, local(SAO_PAULO, saturday, 2))
    before = opening_status(late_friday, set(), SAO_PAULO, local(SAO_PAULO, weekday_of(FRI), 17))

    assert after_midnight.open is True
    assert after_midnight.closes_at == local(SAO_PAULO, saturday, 2)
    assert at_close.open is False
    assert at_close.opens_next_at == local(SAO_PAULO, date(2026, 1, 16), 18)
    assert before.open is False
    assert before.opens_next_at == local(SAO_PAULO, weekday_of(FRI), 18)


def test_sunday_range_runs_into_monday() -> None:
    sunday_night = [span(SUN, "22:00", "03:00")]

    status = opening_status(sunday_night, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 2))

    assert status.open is True
    assert status.closes_at == local(SAO_PAULO, MONDAY, 3)


def test_closing_at_midnight() -> None:
    until_midnight = [span(MON, "18:00", "00:00")]

    status = opening_status(until_midnight, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 23, 59))

    assert status.open is True
    assert status.closes_at == local(SAO_PAULO, weekday_of(TUE), 0)


def test_touching_ranges_merge() -> None:
    ranges = [span(MON, "11:00", "15:00"), span(MON, "15:00", "18:00")]

    status = opening_status(ranges, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 14))

    assert status.open is True
    assert status.closes_at == local(SAO_PAULO, MONDAY, 18)


def test_round_the_clock_has_no_close() -> None:
    ranges = [span(day, "00:00", "12:00") for day in range(7)]
    ranges += [span(day, "12:00", "00:00") for day in range(7)]

    status = opening_status(ranges, set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 9))

    assert status.open is True
    assert status.closes_at is None
    assert status.opens_next_at is None


def test_closure_closes_whole_day() -> None:
    ranges = [span(day, "11:00", "15:00") for day in range(7)]
    tuesday = weekday_of(TUE)

    status = opening_status(ranges, {tuesday}, SAO_PAULO, local(SAO_PAULO, tuesday, 12))
    from_monday = opening_status(ranges, {tuesday}, SAO_PAULO, local(SAO_PAULO, MONDAY, 16))

    assert status.open is False
    assert status.opens_next_at == local(SAO_PAULO, weekday_of(WED), 11)
    assert from_monday.opens_next_at == local(SAO_PAULO, weekday_of(WED), 11)


def test_closure_keeps_previous_evening_range() -> None:
    ranges = [span(FRI, "18:00", "02:00"), span(SAT, "18:00", "02:00")]
    saturday = weekday_of(SAT)

    # The Friday range started before the closed Saturday, so it runs until 02:00.
    night = opening_status(ranges, {saturday}, SAO_PAULO, local(SAO_PAULO, saturday, 1))
    evening = opening_status(ranges, {saturday}, SAO_PAULO, local(SAO_PAULO, saturday, 19))

    assert night.open is True
    assert night.closes_at == local(SAO_PAULO, saturday, 2)
    assert evening.open is False
    assert evening.opens_next_at == local(SAO_PAULO, date(2026, 1, 16), 18)


def test_closed_range_before_closure_day() -> None:
    ranges = [span(FRI, "18:00", "02:00")]
    friday = weekday_of(FRI)

    status = opening_status(ranges, {friday}, SAO_PAULO, local(SAO_PAULO, weekday_of(SAT), 1))

    assert status.open is False


def test_no_opening_within_search_window() -> None:
    mondays = {date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)}

    status = opening_status(LUNCH_AND_DINNER, mondays, SAO_PAULO, local(SAO_PAULO, MONDAY, 23, 30))

    assert status.open is False
    assert status.opens_next_at is None


def test_no_ranges_never_open() -> None:
    status = opening_status([], set(), SAO_PAULO, local(SAO_PAULO, MONDAY, 12))

    assert status.open is False
    assert status.opens_next_at is None


def test_lead_time_stops_orders_early() -> None:
    before_cutoff = local(SAO_PAULO, MONDAY, 14, 29)
    at_cutoff = local(SAO_PAULO, MONDAY, 14, 30)

    taking = opening_status(LUNCH_AND_DINNER, set(), SAO_PAULO, before_cutoff, lead_minutes=30)
    stopped = opening_status(LUNCH_AND_DINNER, set(), SAO_PAULO, at_cutoff, lead_minutes=30)

    assert taking.open is True
    assert taking.closes_at == local(SAO_PAULO, MONDAY, 15)
    assert taking.last_order_at == at_cutoff
    assert stopped.open is False
    assert stopped.opens_next_at == local(SAO_PAULO, MONDAY, 18)


def test_lead_time_skips_short_range() -> None:
    ranges = [span(MON, "11:00", "11:20"), span(MON, "18:00", "23:00")]
    now = local(SAO_PAULO, MONDAY, 10)

    status = opening_status(ranges, set(), SAO_PAULO, now, lead_minutes=30)

    assert status.open is False
    assert status.opens_next_at == local(SAO_PAULO, MONDAY, 18)
    assert next_opening(ranges, set(), SAO_PAULO, now) == local(SAO_PAULO, MONDAY, 11)


def test_lead_time_over_midnight() -> None:
    late_friday = [span(FRI, "18:00", "02:00")]
    saturday = weekday_of(SAT)
    now = local(SAO_PAULO, saturday, 1, 15)

    assert is_open_at(late_friday, set(), SAO_PAULO, now, lead_minutes=30) is True
    assert is_open_at(late_friday, set(), SAO_PAULO, now, lead_minutes=45) is False


def test_gap_wall_time_moves_to_gap_end() -> None:
    # New York skips 02:00-03:00 on 2026-03-08.
    skipped = wall_time_to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    repeated = wall_time_to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK)

    assert skipped == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert repeated == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_range_spanning_spring_forward() -> None:
    # Saturday 22:00 EST to Sunday 04:00 EDT is five real hours.
    ranges = [span(SAT, "22:00", "04:00")]
    inside_gap_hour = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)

    status = opening_status(ranges, set(), NEW_YORK, inside_gap_hour)

    assert status.open is True
    assert status.closes_at == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert is_open_at(ranges, set(), NEW_YORK, datetime(2026, 3, 8, 3, 0, tzinfo=UTC)) is True
    assert is_open_at(ranges, set(), NEW_YORK, datetime(2026, 3, 8, 2, 59, tzinfo=UTC)) is False


def test_range_opening_inside_gap() -> None:
    ranges = [span(SUN, "02:30", "05:00")]
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)

    status = opening_status(ranges, set(), NEW_YORK, before)

    assert status.open is False
    assert status.opens_next_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_range_ending_in_repeated_hour() -> None:
    # Clocks go back from 02:00 EDT to 01:00 EST on 2026-11-01, so 01:30 means its first time.
    ranges = [span(SAT, "20:00", "01:30")]
    now = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)

    status = opening_status(ranges, set(), NEW_YORK, now)

    assert status.open is True
    assert status.closes_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_weekly_time_follows_offset_change() -> None:
    ranges = [span(MON, "11:00", "15:00")]
    before_change = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)

    # 11:00 EDT on Monday 2026-03-09 is 15:00 UTC, but a week earlier 11:00 EST was 16:00 UTC.
    assert next_opening(ranges, set(), NEW_YORK, before_change) == datetime(
        2026, 3, 9, 15, 0, tzinfo=UTC
    )


def test_lisbon_range_spanning_gap() -> None:
    # Lisbon skips 01:00-02:00 on 2026-03-29, from WET (UTC) to WEST (UTC+1).
    ranges = [span(SAT, "20:00", "03:00")]
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)

    status = opening_status(ranges, set(), LISBON, now)

    assert status.open is True
    assert status.closes_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def _hours(*items: tuple[int, str, str]) -> list[HoursRange]:
    return [HoursRange(weekday=day, opens=opens, closes=closes) for day, opens, closes in items]


def test_validate_converts_to_minutes() -> None:
    ranges = validate_ranges(_hours((FRI, "18:00", "02:00"), (SAT, "02:00", "03:00")))

    assert ranges == [WeeklyRange(FRI, 1080, 120), WeeklyRange(SAT, 120, 180)]


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([(MON, "10:00", "10:00")], "body[0].closes"),
        ([(MON, "11:00", "15:00"), (MON, "14:00", "18:00")], "body[1].opens"),
        (
            [(MON, "11:00", "15:00"), (TUE, "09:00", "10:00"), (MON, "09:00", "11:30")],
            "body[2].opens",
        ),
        ([(FRI, "18:00", "02:00"), (SAT, "01:00", "04:00")], "body[1].opens"),
        ([(SAT, "01:00", "04:00"), (FRI, "18:00", "02:00")], "body[1].opens"),
        ([(SUN, "22:00", "03:00"), (MON, "02:00", "05:00")], "body[1].opens"),
    ],
)
def test_validate_rejects_bad_ranges(items: list[tuple[int, str, str]], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_ranges(_hours(*items))

    assert caught.value.field == field
