"""Liveness and readiness probes.

``/health/live`` returns 200 while the process runs. ``/health/ready`` returns 200 only while
the database is reachable, Redis is reachable when one is configured, the schema is at
the latest migration and no shutdown has started. Otherwise it returns 503 with a problem
body that names the failing checks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as redis
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from zapora.config import Settings
from zapora.errors import PROBLEM_CONTENT_TYPE, problem_response
from zapora.migrate import current_revision, head_revision
from zapora.observability.shutdown import ShutdownState

logger = structlog.get_logger(__name__)
router = APIRouter(tags=["health"])

# A probe that waits longer than this for one dependency reports it as failing.
CHECK_TIMEOUT_SECONDS = 2.0
PASSED = "ok"
NOT_CONFIGURED = "not configured"
NOT_CHECKED = "not checked: the database is unreachable"


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


class ReadinessState:
    """Per-application memory of the probe: the migration check passes once and for all.

    Migrations only move the schema forwards, so a database found at the head revision
    stays there for this process's lifetime. A failed check is repeated on every probe.
    """

    def __init__(self) -> None:
        self.schema_at_head = False
        # Logged when it changes, so a probe every few seconds does not repeat the warning.
        self.last_failing: list[str] = []


def _failure(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {CHECK_TIMEOUT_SECONDS:g} s"
    return f"unreachable: {type(error).__name__}"


async def _check_database(engine: AsyncEngine) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        return _failure(exc)
    return PASSED


async def _check_redis(url: str) -> str:
    if not url:
        return NOT_CONFIGURED
    client = redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await client.ping()
    except (TimeoutError, RedisError, OSError) as exc:
        return _failure(exc)
    finally:
        await client.aclose()
    return PASSED


async def _check_migrations(database_url: str, state: ReadinessState) -> str:
    if state.schema_at_head:
        return PASSED
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            current = await current_revision(database_url)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        return _failure(exc)
    head = head_revision()
    if current != head:
        return f"schema at revision {current or 'none'}, expected {head}: run 'zapora migrate'"
    state.schema_at_head = True
    return PASSED


async def run_checks(
    settings: Settings, engine: AsyncEngine, state: ReadinessState, shutdown: ShutdownState
) -> dict[str, str]:
    """Run every readiness check and return each one's result, ``ok`` when it passed."""
    database, redis_result = await asyncio.gather(
        _check_database(engine), _check_redis(settings.redis_url)
    )
    migrations = NOT_CHECKED
    if database == PASSED:
        migrations = await _check_migrations(settings.resolved_database_url, state)
    return {
        "database": database,
        "redis": redis_result,
        "migrations": migrations,
        "shutdown": f"shutting down: {shutdown.reason}" if shutdown.in_progress else PASSED,
    }


def failing_checks(checks: dict[str, str]) -> list[str]:
    """Return the names of the checks that failed; skipped ones do not count."""
    skipped_or_passed = (PASSED, NOT_CONFIGURED, NOT_CHECKED)
    return [name for name, result in checks.items() if result not in skipped_or_passed]


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "A dependency is failing or the process is shutting down.",
        "content": {PROBLEM_CONTENT_TYPE: {}},
    }
}


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Report that the process is alive."""
    return Health(status="ok")


@router.get("/health/live", response_model=Health)
async def live() -> Health:
    """Report that the process is alive; restart it when this fails."""
    return Health(status="ok")


@router.get("/health/ready", response_model=Readiness, responses=_NOT_READY)
async def ready(request: Request) -> Readiness | JSONResponse:
    """Report whether this process can serve traffic; route no traffic to it when this fails."""
    app_state = request.app.state
    checks = await run_checks(
        app_state.settings, app_state.engine, app_state.readiness, app_state.shutdown
    )
    failing = failing_checks(checks)
    readiness: ReadinessState = app_state.readiness
    if failing != readiness.last_failing:
        if failing:
            logger.warning("health.not_ready", failing=failing, checks=checks)
        else:
            logger.info("health.ready")
        readiness.last_failing = failing
    if not failing:
        return Readiness(status="ready", checks=checks)
    return problem_response(
        status=503,
        code="not_ready",
        title="Not ready",
        detail=f"Failing checks: {', '.join(failing)}.",
        instance=request.url.path,
        extra={"checks": checks, "failing": failing},
    )
