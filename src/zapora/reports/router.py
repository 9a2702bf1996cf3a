"""Staff API for a store's reports, computed over local days in the store's time zone."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.reports import service
from zapora.reports.local_days import MAX_RANGE_DAYS
from zapora.reports.schemas import (
    CancellationsReport,
    DailyReport,
    TimingsReport,
    TopItemsReport,
)

router = APIRouter(prefix="/stores/{store_id}/reports", tags=["reports"])

ReportReader = Annotated[User, Depends(require(Permission.REPORTS_READ))]
FromDate = Annotated[
    date, Query(alias="from", description="First local day of the range, YYYY-MM-DD.")
]
ToDate = Annotated[
    date,
    Query(
        alias="to",
        description=(
            f"Last local day (included), YYYY-MM-DD. A range spans at most {MAX_RANGE_DAYS} days."
        ),
    ),
]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The store does not exist or belongs to another store.",
        "content": {PROBLEM_CONTENT_TYPE: {}},
    },
    422: {
        "description": "A malformed date, 'from' after 'to', or a range that is too long.",
        "content": {PROBLEM_CONTENT_TYPE: {}},
    },
}


@router.get("/daily", response_model=DailyReport, responses=_PROBLEMS)
async def daily_report(
    store_id: uuid.UUID,
    first: FromDate,
    last: ToDate,
    session: SessionDep,
    user: ReportReader,
) -> DailyReport:
    """Return orders, cancellations and sales for each local day of the range."""
    store = await load_store_for(session, user, store_id)
    return await service.daily_report(session, store, first, last)


@router.get("/timings", response_model=TimingsReport, responses=_PROBLEMS)
async def timings_report(
    store_id: uuid.UUID,
    first: FromDate,
    last: ToDate,
    session: SessionDep,
    user: ReportReader,
) -> TimingsReport:
    """Return the average seconds from placement to acceptance, readiness and delivery."""
    store = await load_store_for(session, user, store_id)
    return await service.timings_report(session, store, first, last)


@router.get("/top-items", response_model=TopItemsReport, responses=_PROBLEMS)
async def top_items_report(
    store_id: uuid.UUID,
    first: FromDate,
    last: ToDate,
    session: SessionDep,
    user: ReportReader,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TopItemsReport:
    """Return the items sold most, by quantity, with their revenue."""
    store = await load_store_for(session, user, store_id)
    return await service.top_items_report(session, store, first, last, limit)


@router.get("/cancellations", response_model=CancellationsReport, responses=_PROBLEMS)
async def cancellations_report(
    store_id: uuid.UUID,
    first: FromDate,
    last: ToDate,
    session: SessionDep,
    user: ReportReader,
) -> CancellationsReport:
    """Return how many orders were cancelled, by reason."""
    store = await load_store_for(session, user, store_id)
    return await service.cancellations_report(session, store, first, last)
