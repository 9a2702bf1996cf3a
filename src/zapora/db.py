"""Engine, sessions, the declarative base and column types shared by every domain."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no offset, so values are written as naive UTC and read back with
    ``tzinfo=UTC``; PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[dict[str, Any]]: JSONType,
        list[str]: JSONType,
    }


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Connections kept open per process, and more opened for a burst and closed after it. Ten
# kept connections serve ten concurrent requests without opening new ones, and the total of
# 15 per process stays SQLAlchemy's default.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 5


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and immediate transactions."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX_OVERFLOW,
        connect_args={"max_cacheable_statement_size": MAX_CACHED_STATEMENT_BYTES},
    )
    discard_closed_connections(engine)
    return engine


# asyncpg prepares again, on every call, a statement longer than its cache limit (15 KiB by
# default). The insert of an order of 100 lines, the most an order may have, is about 32 KiB.
MAX_CACHED_STATEMENT_BYTES = 64 * 1024


def discard_closed_connections(engine: AsyncEngine) -> None:
    """Replace a pooled connection that the server closed before handing it out.

    This replaces ``pool_pre_ping``, whose ping in SQLAlchemy 2.0's asyncpg dialect costs
    three round trips (begin, a query, rollback) on every checkout. A server that restarts
    or ends an idle session closes the socket, and the driver detects that without a round
    trip. A peer that vanished without closing the socket is still found only by the
    failing query, after which SQLAlchemy replaces the pool's connections.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver_connection = getattr(dbapi_connection, "driver_connection", None)
        is_closed = getattr(driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            # The pool discards this connection and checks out another one.
            raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off so that BEGIN below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Taking the write lock at BEGIN serialises writers up front. A deferred transaction
        # that reads and then writes can fail with "database is locked" instead of waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_WROTE = "zapora_wrote"
_READ_ONLY = "zapora_read_only"


class ReadOnlySessionError(RuntimeError):
    """Raised when a read session is asked to write."""


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Create sessions for routes that only read.

    On PostgreSQL their statements run without an explicit transaction, which saves the
    round trips of BEGIN and of the ROLLBACK that ends it when the connection goes back to
    the pool. Each statement then reads its own snapshot of committed rows. A write through
    such a session raises ReadOnlySessionError before it reaches the database. SQLite
    sessions stay transactional, as its connections are local and BEGIN costs no round trip.
    """
    bind = engine
    if engine.dialect.name != "sqlite":
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(
        bind, expire_on_commit=False, autoflush=False, info={_READ_ONLY: True}
    )


def _reject_write(session: Session) -> None:
    if session.info.get(_READ_ONLY):
        raise ReadOnlySessionError(
            "write rejected: this session is read-only; remove @reads_only from a route that writes"
        )


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, _context: Any, _instances: Any) -> None:
    _reject_write(session)


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: ORMExecuteState) -> None:
    # Anything but a SELECT may write: ORM and Core DML as well as text statements.
    if not state.is_select:
        _reject_write(state.session)
        state.session.info[_WROTE] = True


def note_write(session: AsyncSession) -> None:
    """Record a write that bypassed the session, so that ``finish`` commits it.

    Raise ReadOnlySessionError on a read-only session, as a write through it would.
    """
    _reject_write(session.sync_session)
    session.sync_session.info[_WROTE] = True


def session_wrote(session: AsyncSession) -> bool:
    """Return whether the session wrote, or holds changes that a commit would flush."""
    if session.sync_session.info.get(_WROTE):
        return True
    return bool(session.new or session.dirty or session.deleted)


async def finish(session: AsyncSession) -> None:
    """Commit a session that wrote; close one that only read, which skips the commit work.

    Closing returns the connection to the pool, which ends its transaction, and detaches
    the loaded objects without expiring them, so a response may still read them.
    """
    if session_wrote(session):
        await session.commit()
    else:
        await session.close()
    session.sync_session.info.pop(_WROTE, None)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open a session that commits when the block succeeds and rolls back when it raises."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
