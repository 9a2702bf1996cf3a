"""Database pool gauges, moved by the pool's own events as connections come and go.

Gauges moved by events, unlike a collector that reads ``pool.checkedout()`` at scrape time,
are summed over every live process under ``PROMETHEUS_MULTIPROC_DIR``, so one scrape shows
the whole deployment and not only the process that served it.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool, StaticPool

from zapora.observability.metrics import DB_POOL_CAPACITY, DB_POOL_IN_USE, DB_POOL_OPEN


def pool_capacity(pool: Pool) -> int:
    """Return how many connections the pool may open, or 0 when it sets no bound.

    PostgreSQL and file SQLite engines get a queue pool (size plus overflow), in-memory
    SQLite a static pool of one connection, and a ``NullPool`` has no bound.
    """
    if isinstance(pool, QueuePool):
        # QueuePool has no public accessor for max_overflow. A negative value means no bound.
        max_overflow = int(getattr(pool, "_max_overflow", 0))
        return 0 if max_overflow < 0 else pool.size() + max_overflow
    if isinstance(pool, StaticPool):
        return 1
    return 0


def instrument_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current for this engine until it is garbage collected.

    The listeners stay on the pool that ``engine.dispose()`` creates in place of the old one.
    """
    sync_engine = engine.sync_engine
    pool = sync_engine.pool

    def on_checkout(*_args: Any) -> None:
        DB_POOL_IN_USE.inc()

    def on_checkin(*_args: Any) -> None:
        DB_POOL_IN_USE.dec()

    def on_connect(*_args: Any) -> None:
        DB_POOL_OPEN.inc()

    def on_close(*_args: Any) -> None:
        DB_POOL_OPEN.dec()

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "connect", on_connect)
    event.listen(pool, "close", on_close)
    event.listen(pool, "close_detached", on_close)
    capacity = pool_capacity(pool)
    if capacity:
        DB_POOL_CAPACITY.inc(capacity)
        weakref.finalize(sync_engine, DB_POOL_CAPACITY.dec, capacity)
