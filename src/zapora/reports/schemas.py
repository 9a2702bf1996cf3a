"""Response bodies of the store reports. Amounts are integer minor units of ``currency``."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field


class ReportPeriod(BaseModel):
    """The local days a report covers, both included, in the store's time zone."""

    store_id: uuid.UUID
    time_zone: str = Field(description="IANA zone whose midnights bound the days.")
    from_date: date
    to_date: date


class DailyRow(BaseModel):
    day: date = Field(description="Local day in the store's time zone.")
    orders: int = Field(description="Orders placed that day, cancelled ones included.")
    cancelled: int = Field(description="Orders placed that day and cancelled since.")
    sales: int = Field(description="Sum of the totals of the day's orders not cancelled.")


class DailyReport(ReportPeriod):
    currency: str
    days: list[DailyRow] = Field(description="Every day of the range, days without orders too.")


class Timing(BaseModel):
    average_seconds: float | None = Field(
        description="Mean time since placement, or null when no order reached the status."
    )
    orders: int = Field(description="Orders that reached the status and count in the mean.")


class TimingsReport(ReportPeriod):
    placed_to_accepted: Timing
    placed_to_ready: Timing
    placed_to_delivered: Timing


class TopItem(BaseModel):
    name: str = Field(description="Item name as it was when the order was placed.")
    quantity: int
    revenue: int = Field(description="Sum of the line totals, options included.")


class TopItemsReport(ReportPeriod):
    currency: str
    items: list[TopItem]


class CancellationCount(BaseModel):
    reason: str | None = Field(
        description="Reason given when cancelling, or null when none was stored."
    )
    count: int


class CancellationsReport(ReportPeriod):
    total: int
    reasons: list[CancellationCount]
