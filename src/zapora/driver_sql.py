"""Core statements compiled once for PostgreSQL and sent by asyncpg itself.

For a small statement, SQLAlchemy's execution costs several times the CPU time of the
driver's own work. That execution builds an execution context, processes parameters and
rows, and crosses the greenlet bridge of its async layer. Measured locally, the item query
of an order took about 240 µs through SQLAlchemy and 45 µs through asyncpg alone.

The hottest statements of order placement, and the account and store reads of staff routes
(``get_by_id``), therefore run here. Each is compiled once per dialect, its parameters go
through the bind processors SQLAlchemy would apply, and asyncpg sends it on the connection
under the session, inside its transaction. SQLite keeps SQLAlchemy's own execution.

Errors of a statement are the driver's (``asyncpg.PostgresError``, ``asyncpg.InterfaceError``,
``OSError``) and those of the bind processors. Beginning the transaction raises
SQLAlchemy's. SQLAlchemy's events, and so its tracing spans, do not see these statements:
``listeners`` does, for tests and debugging.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Float, Numeric, bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeEngine

from zapora.db import note_write

_Processor = Callable[[Any], Any] | None
T = TypeVar("T")
R = TypeVar("R")

# Called with the SQL of each statement before it runs, and whether it runs for a session
# rather than on a connection of its own, as SQLAlchemy's before_cursor_execute event is
# called for its own statements.
listeners: list[Callable[[str, bool], None]] = []


class _Compiled:
    """One statement's SQL for one dialect and how to order and convert its parameters."""

    __slots__ = ("compiler", "processors", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiler = statement.compile(dialect=dialect)
        assert isinstance(compiler, SQLCompiler)
        assert compiler.positiontup is not None, "asyncpg takes positional parameters"
        self.compiler = compiler
        self.sql = compiler.string
        self.processors: list[tuple[str, _Processor]] = [
            (name, compiler.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiler.positiontup
        ]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        # construct_params adds the values of the statement's own anonymous parameters.
        parameters = self.compiler.construct_params(dict(values))
        arguments = []
        for name, processor in self.processors:
            value = parameters[name]
            arguments.append(value if processor is None else processor(value))
        return arguments


class DriverStatement:
    """A Core statement that runs on the asyncpg connection of a PostgreSQL session.

    The statement must use only named bind parameters that the caller supplies, or
    parameters with fixed values. An expanding ``IN`` is not supported: compare with
    ``any_()`` of an array parameter instead.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self.writes = bool(statement.is_dml)
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _Compiled(self.statement, dialect)
        return compiled

    async def fetch(self, session: AsyncSession, values: Mapping[str, Any]) -> list[asyncpg.Record]:
        """Run the statement in the session's transaction and return its rows.

        A statement that writes marks the session as written, so that it is committed.
        """
        if self.writes:
            note_write(session)
        connection = await session.connection()
        driver = await in_transaction(connection)
        compiled = self._for(connection.dialect)
        arguments = compiled.arguments(values)
        for listener in listeners:
            listener(compiled.sql, True)
        result: list[asyncpg.Record] = await _guarded(
            connection, driver, driver.fetch(compiled.sql, *arguments)
        )
        return result

    async def fetchval(self, connection: AsyncConnection, values: Mapping[str, Any]) -> Any:
        """Run the statement on ``connection`` and return the first value.

        The caller decides the transaction: on a connection with ``AUTOCOMMIT`` isolation
        the statement commits on its own. A connection that the failure closed, or whose
        statement was cut off, is invalidated, so that it does not go back to the pool.
        """
        _, driver = await _raw(connection)
        compiled = self._for(connection.dialect)
        arguments = compiled.arguments(values)
        for listener in listeners:
            listener(compiled.sql, False)
        return await _guarded(connection, driver, driver.fetchval(compiled.sql, *arguments))


async def _guarded(
    connection: AsyncConnection, driver: asyncpg.Connection, call: Awaitable[R]
) -> R:
    """Await a driver call, and invalidate the connection when the call may have broken it.

    An invalidated connection is closed instead of going back to the pool, where the next
    user would find it closed, still busy with a cut-off statement, or inside a transaction
    that SQLAlchemy does not know of.
    """
    try:
        return await call
    except asyncpg.PostgresError:
        # The server rejected the statement. Its connection errors are PostgresErrors too.
        if driver.is_closed():
            await connection.invalidate()
        raise
    except BaseException:
        # A lost connection, or a cancellation that left the statement running.
        await connection.invalidate()
        raise


async def _raw(connection: AsyncConnection) -> tuple[PoolProxiedConnection, asyncpg.Connection]:
    """Return the pooled connection under ``connection`` and its asyncpg connection."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection), "only for PostgreSQL through asyncpg"
    return raw, driver


async def in_transaction(connection: AsyncConnection) -> asyncpg.Connection:
    """Return the asyncpg connection under ``connection``, inside its transaction.

    SQLAlchemy's asyncpg dialect sends BEGIN with the first statement it executes itself.
    When it has executed none yet, the transaction is begun here the way the dialect begins
    it, so that the driver's statements cannot commit on their own and SQLAlchemy's COMMIT
    ends them. On an ``AUTOCOMMIT`` connection each statement commits on its own anyway.
    """
    raw, driver = await _raw(connection)
    if driver.is_in_transaction():
        return driver
    options = (
        connection.sync_connection.get_execution_options() if connection.sync_connection else {}
    )
    if options.get("isolation_level") == "AUTOCOMMIT":
        return driver
    # NOTE: _start_transaction is the dialect's own, not a public API. Without it, a
    # statement through SQLAlchemy begins the transaction, at the cost of a round trip.
    start = getattr(raw.dbapi_connection, "_start_transaction", None)
    if getattr(raw.dbapi_connection, "_transaction", False) is None and start is not None:
        await _guarded(connection, driver, start())
    else:
        await connection.exec_driver_sql("SELECT 1")
    return driver


class _RowLoader:
    """Read one mapped class's rows by primary key and build them as the ORM would."""

    def __init__(self, model: type[Any]) -> None:
        mapper = inspect(model)
        if len(mapper.primary_key) != 1:
            raise TypeError(f"{model.__name__} needs a primary key of one column")
        self.model = model
        (self.key_column,) = mapper.primary_key
        self.columns = list(mapper.local_table.columns)
        self.key_index = self.columns.index(self.key_column)
        self.keys = [mapper.get_property_by_column(column).key for column in self.columns]
        self.statement = DriverStatement(
            select(*self.columns).where(self.key_column == bindparam("ident"))
        )
        self._processors: WeakKeyDictionary[Dialect, list[_Processor]] = WeakKeyDictionary()

    def values(self, record: Sequence[Any], dialect: Dialect) -> dict[str, Any]:
        """Convert a row with the column types' result processors, as SQLAlchemy would."""
        processors = self._processors.get(dialect)
        if processors is None:
            processors = self._processors[dialect] = [
                _result_processor(column.type, dialect) for column in self.columns
            ]
        return {
            key: value if processor is None else processor(value)
            for key, processor, value in zip(self.keys, processors, record, strict=True)
        }


# The type codes PostgreSQL reports for the columns of these types, which their result
# processors choose by: double precision and numeric.
_FLOAT8_OID = 701
_NUMERIC_OID = 1700


def _result_processor(column_type: TypeEngine[Any], dialect: Dialect) -> _Processor:
    type_code = None
    if isinstance(column_type, Float):
        type_code = _FLOAT8_OID
    elif isinstance(column_type, Numeric):
        type_code = _NUMERIC_OID
    return column_type.dialect_impl(dialect).result_processor(dialect, type_code)


_loaders: dict[type[Any], _RowLoader] = {}
_pair_statements: dict[tuple[type[Any], type[Any]], DriverStatement] = {}
# The session.info key of the rows that get_by_id read ahead for a later call.
_READ_AHEAD = "zapora.read_ahead"


def _loader(model: type[Any]) -> _RowLoader:
    loader = _loaders.get(model)
    if loader is None:
        loader = _loaders[model] = _RowLoader(model)
    return loader


def _pair_statement(first: _RowLoader, second: _RowLoader) -> DriverStatement:
    """Build the query for a row of ``first`` by key, with the row of ``second`` beside it.

    The second table is joined on its own key only, so its columns are NULL when it has no
    such row, and the query returns no row when the first table has none.
    """
    key = (first.model, second.model)
    statement = _pair_statements.get(key)
    if statement is None:
        first_table = first.key_column.table
        second_table = second.key_column.table
        statement = _pair_statements[key] = DriverStatement(
            select(*first.columns, *second.columns)
            .select_from(
                first_table.outerjoin(second_table, second.key_column == bindparam("also"))
            )
            .where(first.key_column == bindparam("ident"))
        )
    return statement


def _held(session: AsyncSession, model: type[Any], ident: Any) -> Any:
    """Return the session's copy of a row, current or not, or None."""
    sync_session = session.sync_session
    return sync_session.identity_map.get(sync_session.identity_key(model, ident))


def loaded_instance(model: type[T], values: Mapping[str, Any]) -> T:
    """Build an instance as a query loads one: attributes set directly, without events.

    Setting the attributes through the constructor fires an event per attribute, about 5%
    of an order placement's CPU time in a py-spy profile. Call ``make_transient_to_detached``
    before adding it to a session, so that it counts as loaded and unchanged.
    """
    instance = manager_of_class(model).new_instance()
    instance.__dict__.update(values)
    return instance


def _attach(session: AsyncSession, model: type[T], values: dict[str, Any]) -> T:
    instance = loaded_instance(model, values)
    # Loaded, unchanged and in the session, as if a query had returned it.
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


async def get_by_id(
    session: AsyncSession,
    model: type[T],
    ident: Any,
    *,
    also: tuple[type[Any], Any] | None = None,
) -> T | None:
    """Return the instance of ``model`` with primary key ``ident``, as ``Session.get`` does.

    On PostgreSQL the row is read through asyncpg and the instance is built from it, which
    skips the ORM's query machinery. So it is only for classes with a one-column primary
    key, no eagerly loaded relationships, no constructor, validators, reconstructor or load
    events of their own, and no criteria added to their queries. ``ident`` must be of the
    key's Python type. Other databases use ``Session.get``.

    ``also`` names another class and key, under the same conditions, whose row the caller
    will need next: when the first row is read, it is read in the same statement and put in
    the session, where the next ``get_by_id`` of it finds it without a query.
    """
    found = _held(session, model, ident)
    if found is not None:
        state = inspect(found)
        if not (state.expired_attributes or state.deleted or state.was_deleted):
            return cast(T, found)
    dialect = session.get_bind().dialect
    if found is not None or dialect.name != "postgresql":
        # Session.get refreshes expired attributes and handles deleted instances.
        return await session.get(model, ident)

    loader = _loader(model)
    if also is None or _held(session, *also) is not None:
        rows = await loader.statement.fetch(session, {"ident": ident})
        if not rows:
            return None
        return _attach(session, model, loader.values(rows[0], dialect))

    other_model, other_ident = also
    other = _loader(other_model)
    statement = _pair_statement(loader, other)
    rows = await statement.fetch(session, {"ident": ident, "also": other_ident})
    if not rows:
        return None
    width = len(loader.columns)
    instance = _attach(session, model, loader.values(rows[0][:width], dialect))
    other_values = rows[0][width:]
    if other_values[other.key_index] is not None:
        other_instance = _attach(session, other_model, other.values(other_values, dialect))
        # The session's identity map holds unchanged instances weakly, so without a reference
        # this one would be gone before the caller asks for it.
        session.info.setdefault(_READ_AHEAD, []).append(other_instance)
    return instance
