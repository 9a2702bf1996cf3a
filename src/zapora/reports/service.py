"""Build a store's reports from its orders, grouped by the store's local days."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from zapora.reports.local_days import LocalRange, local_range
from zapora.reports.schemas import (
    CancellationCount,
    CancellationsReport,
    DailyReport,
    DailyRow,
    ReportPeriod,
    Timing,
    TimingsReport,
    TopItem,
    TopItemsReport,
)
from zapora.stores.models import Store

CANCELLED = OrderStatus.CANCELLED.value
# Milestones of the timings report. For each, the first event reaching the status counts.
TIMED_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.DELIVERED)


def _period(store: Store, days: LocalRange) -> ReportPeriod:
    return ReportPeriod(
        store_id=store.id, time_zone=days.zone.key, from_date=days.first, to_date=days.last
    )


def _placed_within(store: Store, days: LocalRange) -> tuple[ColumnElement[bool], ...]:
    """Select the store's orders placed within the range's UTC bounds."""
    return (Order.store_id == store.id, Order.placed_at >= days.start, Order.placed_at < days.end)


async def daily_report(session: AsyncSession, store: Store, first: date, last: date) -> DailyReport:
    """Count orders, cancellations and sales per local day from ``first`` to ``last``."""
    days = local_range(store, first, last)
    # NOTE: every order of the range is read and grouped here, because grouping by local
    # day in SQL differs between SQLite and PostgreSQL. That is fine for a year of one
    # store's orders but would need SQL grouping for much larger ranges.
    rows = await session.execute(
        select(Order.placed_at, Order.status, Order.total, Order.currency).where(
            *_placed_within(store, days)
        )
    )
    by_day = {day: DailyRow(day=day, orders=0, cancelled=0, sales=0) for day in days.days()}
    for placed_at, status, total, currency in rows:
        row = by_day[days.local_day(placed_at)]
        row.orders += 1
        if status == CANCELLED:
            row.cancelled += 1
        elif currency == store.currency:
            row.sales += total
    return DailyReport(
        **_period(store, days).model_dump(), currency=store.currency, days=list(by_day.values())
    )


def _mean(values: list[float]) -> Timing:
    if not values:
        return Timing(average_seconds=None, orders=0)
    return Timing(average_seconds=round(sum(values) / len(values), 1), orders=len(values))


async def timings_report(
    session: AsyncSession, store: Store, first: date, last: date
) -> TimingsReport:
    """Average the time from placement to acceptance, readiness and delivery.

    Orders placed in the range count, each from its ``placed_at`` to the first event
    that moved it to the status.
    """
    days = local_range(store, first, last)
    statement = (
        select(Order.placed_at, OrderEvent.to_status, func.min(OrderEvent.created_at))
        .join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(*_placed_within(store, days))
        .where(OrderEvent.to_status.in_([status.value for status in TIMED_STATUSES]))
        .group_by(Order.id, Order.placed_at, OrderEvent.to_status)
    )
    durations: dict[str, list[float]] = defaultdict(list)
    for placed_at, to_status, reached_at in await session.execute(statement):
        durations[to_status].append(_seconds_between(placed_at, reached_at))
    return TimingsReport(
        **_period(store, days).model_dump(),
        placed_to_accepted=_mean(durations[OrderStatus.ACCEPTED.value]),
        placed_to_ready=_mean(durations[OrderStatus.READY.value]),
        placed_to_delivered=_mean(durations[OrderStatus.DELIVERED.value]),
    )


def _seconds_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


async def top_items_report(
    session: AsyncSession, store: Store, first: date, last: date, limit: int
) -> TopItemsReport:
    """List the best-selling items by quantity among orders not cancelled."""
    days = local_range(store, first, last)
    quantity = func.sum(OrderLine.quantity)
    revenue = func.sum(OrderLine.line_total)
    statement = (
        select(OrderLine.name, quantity, revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_placed_within(store, days))
        .where(Order.status != CANCELLED, Order.currency == store.currency)
        .group_by(OrderLine.name)
        .order_by(quantity.desc(), revenue.desc(), OrderLine.name)
        .limit(limit)
    )
    items = [
        TopItem(name=name, quantity=int(sold), revenue=int(earned))
        for name, sold, earned in await session.execute(statement)
    ]
    return TopItemsReport(**_period(store, days).model_dump(), currency=store.currency, items=items)


async def cancellations_report(
    session: AsyncSession, store: Store, first: date, last: date
) -> CancellationsReport:
    """Count the cancelled orders placed in the range by the reason given, most common first."""
    days = local_range(store, first, last)
    count = func.count(Order.id)
    statement = (
        select(Order.cancel_reason, count)
        .where(*_placed_within(store, days))
        .where(Order.status == CANCELLED)
        .group_by(Order.cancel_reason)
        .order_by(count.desc(), Order.cancel_reason.asc().nulls_last())
    )
    reasons = [
        CancellationCount(reason=reason, count=int(number))
        for reason, number in await session.execute(statement)
    ]
    return CancellationsReport(
        **_period(store, days).model_dump(),
        total=sum(reason.count for reason in reasons),
        reasons=reasons,
    )
