"""``GET /metrics``: every metric in the Prometheus text format, plus outbox figures.

Without ``PROMETHEUS_MULTIPROC_DIR`` the response contains this process's metrics. With it,
the response sums the files of every process that writes into the folder, whichever process
serves the scrape. The outbox depth and the age of its oldest pending row are read from the
database at scrape time, so they are the same whichever process serves it.

NOTE: the route asks for no credentials, like most Prometheus targets. Keep it off the
public internet, for example by not routing ``/metrics`` at the load balancer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.db import utcnow
from zapora.observability.http_metrics import IN_FLIGHT
from zapora.observability.metrics import OUTBOX_OLDEST_AGE_NAME, OUTBOX_PENDING_NAME
from zapora.observability.multiprocess import multiprocess_dir
from zapora.outbox.models import OutboxMessage, OutboxStatus

logger = structlog.get_logger(__name__)
router = APIRouter(tags=["metrics"])

# A scrape must not hang on a busy database; the outbox figures are left out instead.
OUTBOX_QUERY_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class OutboxSnapshot:
    pending: int
    oldest_pending_at: datetime | None


class _OutboxCollector:
    """Report one snapshot as gauges; built anew for each scrape."""

    def __init__(self, snapshot: OutboxSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            OUTBOX_PENDING_NAME,
            "Outbox messages waiting to be sent, leased or backing off included.",
            value=self.snapshot.pending,
        )
        age = 0.0
        if self.snapshot.oldest_pending_at is not None:
            age = max((utcnow() - self.snapshot.oldest_pending_at).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            OUTBOX_OLDEST_AGE_NAME,
            "Seconds since the oldest pending outbox message was queued; 0 when none is.",
            value=age,
        )


class _QueryFailures:
    """Log the first failed outbox query of a run and the recovery, not every scrape."""

    failing = False


async def read_outbox_snapshot(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    timeout_seconds: float = OUTBOX_QUERY_TIMEOUT_SECONDS,
) -> OutboxSnapshot | None:
    """Count the pending outbox rows and find the oldest; None when the query fails."""
    query = select(func.count(), func.min(OutboxMessage.created_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING.value
    )
    try:
        async with asyncio.timeout(timeout_seconds), session_factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                milliseconds = int(timeout_seconds * 1000)
                await session.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
            pending, oldest = (await session.execute(query)).one()
            await session.rollback()
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        if not _QueryFailures.failing:
            logger.warning("metrics.outbox_query_failed", error=type(exc).__name__)
        _QueryFailures.failing = True
        return None
    if _QueryFailures.failing:
        logger.info("metrics.outbox_query_recovered")
    _QueryFailures.failing = False
    return OutboxSnapshot(pending=int(pending), oldest_pending_at=oldest)


def render_metrics(snapshot: OutboxSnapshot | None) -> bytes:
    """Return the text exposition of every metric and of the outbox snapshot."""
    directory = multiprocess_dir()
    if directory is None:
        registry = REGISTRY
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    body = generate_latest(registry)
    if snapshot is not None:
        outbox_registry = CollectorRegistry(auto_describe=False)
        outbox_registry.register(_OutboxCollector(snapshot))
        body += generate_latest(outbox_registry)
    return body


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Expose the service's metrics in the Prometheus text format."""
    snapshot = await read_outbox_snapshot(request.app.state.session_factory)
    IN_FLIGHT.write()
    return Response(render_metrics(snapshot), media_type=CONTENT_TYPE_LATEST)
