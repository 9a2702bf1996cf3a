"""Collect the SQL an engine runs, through SQLAlchemy and on the driver's connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from zapora import driver_sql


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the SQL of the statements ``engine`` runs while the block runs, in order.

    Statements that ``zapora.driver_sql`` sends for a session are collected too, from any
    engine. Those it sends on connections of their own, such as order numbers, are left out.
    """
    statements: list[str] = []

    def collect(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def collect_driver(statement: str, for_session: bool) -> None:
        if for_session:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", collect)
    driver_sql.listeners.append(collect_driver)
    try:
        yield statements
    finally:
        driver_sql.listeners.remove(collect_driver)
        event.remove(engine.sync_engine, "before_cursor_execute", collect)
