"""Write a new order's rows with Core statements, without the ORM unit of work.

A placement writes one row into each of several tables: the order, its lines, its first
event and, for staff orders, the audit entry. An ORM flush of those rows was the largest
single CPU cost of a placement, and each statement is a round trip to the database.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import BindParameter, Insert, Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from zapora.driver_sql import DriverStatement, loaded_instance
from zapora.orders.models import Order, OrderEvent, OrderLine

Row = tuple[Table, Mapping[str, Any]]

ORDERS = cast(Table, Order.__table__)
ORDER_LINES = cast(Table, OrderLine.__table__)
ORDER_EVENTS = cast(Table, OrderEvent.__table__)


def _bound_values(table: Table, prefix: str) -> dict[str, BindParameter[Any]]:
    # Typed like their columns, so that JSON and timestamps are converted as usual.
    return {
        column.key: bindparam(f"{prefix}_{column.key}", type_=column.type)
        for column in table.columns
    }


@functools.lru_cache(maxsize=256)
def _insert_statement(tables: tuple[Table, ...]) -> Insert:
    """Return one PostgreSQL statement that inserts one row into each table, in this order.

    Every INSERT but the last is a WITH clause. PostgreSQL checks foreign keys at the end
    of the statement, so a line may name the order inserted beside it. Each statement is
    built once per sequence of tables, such as one per number of lines, so its compiled
    form is cached. A multi-row VALUES would be compiled again on every call.
    """
    *clauses, last = (
        insert(table).values(_bound_values(table, f"row{index}"))
        for index, table in enumerate(tables)
    )
    return last.add_cte(*(clause.cte(f"row{index}") for index, clause in enumerate(clauses)))


@functools.lru_cache(maxsize=256)
def _insert_driver_statement(tables: tuple[Table, ...]) -> DriverStatement:
    return DriverStatement(_insert_statement(tables))


def _with_every_column(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``row`` with the columns it leaves out set to None.

    Naming every column keeps one compiled INSERT per table, and leaves no attribute of an
    object built from the row unloaded.
    """
    return {**dict.fromkeys(table.columns.keys()), **row}


async def insert_rows(session: AsyncSession, rows: Sequence[Row]) -> None:
    """Insert ``rows`` in the caller's transaction: one statement on PostgreSQL.

    On PostgreSQL each statement costs a round trip, which takes more CPU time than the
    SQLAlchemy work around a small INSERT, and the one statement runs on the driver's
    connection. SQLite runs in the process, so there each row is its own INSERT.
    """
    if session.get_bind().dialect.name != "postgresql":
        for table, row in rows:
            await session.execute(insert(table), _with_every_column(table, row))
        return
    parameters: dict[str, Any] = {}
    for index, (table, row) in enumerate(rows):
        for name, value in _with_every_column(table, row).items():
            parameters[f"row{index}_{name}"] = value
    statement = _insert_driver_statement(tuple(table for table, _ in rows))
    await statement.fetch(session, parameters)


async def write_order(
    session: AsyncSession,
    order_row: Mapping[str, Any],
    line_rows: Sequence[Mapping[str, Any]],
    event_row: Mapping[str, Any],
    *,
    more_rows: Sequence[Row] = (),
) -> Order:
    """Insert an order, its lines, its first event and ``more_rows``; return the order.

    The order joins the session as if it had been read back, with its lines and event
    loaded, so callers read and change it as usual and nothing is inserted twice.
    """
    await insert_rows(
        session,
        [
            (ORDERS, order_row),
            *((ORDER_LINES, row) for row in line_rows),
            (ORDER_EVENTS, event_row),
            *more_rows,
        ],
    )
    order = loaded_instance(Order, _with_every_column(ORDERS, order_row))
    lines = [loaded_instance(OrderLine, _with_every_column(ORDER_LINES, row)) for row in line_rows]
    event = loaded_instance(OrderEvent, _with_every_column(ORDER_EVENTS, event_row))
    set_committed_value(order, "lines", lines)
    set_committed_value(order, "events", [event])
    for child in (*lines, event):
        set_committed_value(child, "order", order)
    for instance in (order, *lines, event):
        make_transient_to_detached(instance)
    # Adding the order adds its lines and event along the loaded relationships.
    session.add(order)
    return order
