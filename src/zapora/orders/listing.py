"""A store's order list for staff: one page read as plain rows and written as JSON once.

The page is the JSON of ``OrderPage``, byte for byte, without building ORM objects or
pydantic models: a list of twenty orders is read on every refresh of a staff screen.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Integer, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora import pagination
from zapora.errors import InvalidInputError
from zapora.orders.models import Order, OrderStatus
from zapora.orders.schemas import OrderSummary

_ALLOWED_STATUSES = ", ".join(status.value for status in OrderStatus)
_ORDERS = Order.__table__.c
# The columns of ``OrderSummary``, in its field order, which is the order of the JSON keys.
SUMMARY_FIELDS = tuple(OrderSummary.model_fields)
_SUMMARY_COLUMNS = tuple(_ORDERS[name] for name in SUMMARY_FIELDS)
# With this option orjson writes UTC datetimes as pydantic does: "Z" for UTC, and
# microseconds only when not zero.
_JSON_OPTIONS = orjson.OPT_UTC_Z


def _json_default(value: object) -> str:
    # asyncpg returns its own subclass of uuid.UUID, which orjson does not take as a UUID.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _page_query(*, by_status: bool, after_cursor: bool) -> Select[Any]:
    query = select(*_SUMMARY_COLUMNS).where(_ORDERS.store_id == bindparam("store_id"))
    if by_status:
        query = query.where(_ORDERS.status.in_(bindparam("statuses", expanding=True)))
    if after_cursor:
        query = query.where(
            or_(
                _ORDERS.placed_at < bindparam("after_at"),
                and_(
                    _ORDERS.placed_at == bindparam("after_at"), _ORDERS.id < bindparam("after_id")
                ),
            )
        )
    return query.order_by(_ORDERS.placed_at.desc(), _ORDERS.id.desc()).limit(
        bindparam("limit", type_=Integer)
    )


# Built once: a statement reused with new parameters skips its construction and the
# computation of its key in SQLAlchemy's compiled statement cache.
_PAGE_QUERIES = {
    (by_status, after_cursor): _page_query(by_status=by_status, after_cursor=after_cursor)
    for by_status in (False, True)
    for after_cursor in (False, True)
}


def parse_status_filter(values: Sequence[str]) -> list[OrderStatus]:
    """Parse repeated and comma-separated ``status`` values and raise 422 on an unknown one."""
    statuses: list[OrderStatus] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            try:
                status = OrderStatus(name)
            except ValueError:
                raise InvalidInputError(
                    f"Unknown order status '{name}'.",
                    field="status",
                    fix=f"use one of: {_ALLOWED_STATUSES}",
                    extra={"allowed": [status.value for status in OrderStatus]},
                ) from None
            if status not in statuses:
                statuses.append(status)
    return statuses


async def order_page_json(
    session: AsyncSession,
    store_id: uuid.UUID,
    *,
    statuses: Sequence[OrderStatus] = (),
    limit: int = 20,
    cursor: str | None = None,
) -> bytes:
    """Return one page of a store's orders as ``OrderPage`` JSON, newest first, ties by id."""
    # The row after the page, if any, shows that another page follows.
    params: dict[str, Any] = {"store_id": store_id, "limit": limit + 1}
    if statuses:
        params["statuses"] = [status.value for status in statuses]
    if cursor is not None:
        params["after_at"], params["after_id"] = pagination.decode_cursor(cursor)
    query = _PAGE_QUERIES[bool(statuses), cursor is not None]
    rows = (await session.execute(query, params)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = pagination.encode_cursor(last.placed_at, last.id)
    page: dict[str, Any] = {
        "items": [dict(zip(SUMMARY_FIELDS, row, strict=True)) for row in rows],
        "next_cursor": next_cursor,
    }
    return orjson.dumps(page, default=_json_default, option=_JSON_OPTIONS)
