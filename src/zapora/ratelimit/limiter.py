"""Rate limit policies and the limiter that checks them against Redis or process memory."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from zapora.config import Settings
from zapora.observability.metrics import RATE_LIMIT_DECISIONS

logger = structlog.get_logger(__name__)

T = TypeVar("T")

# Redis runs next to the replicas, so a reply slower than this counts as a failure and the
# request goes on unlimited. With no retries a hung Redis delays one request by about this.
REDIS_TIMEOUT_SECONDS = 0.25
# After a storage error the limiter lets requests through without asking the storage for
# this long, so a hung Redis costs one timeout per interval instead of one per request.
ERROR_COOLDOWN_SECONDS = 5.0
WARNING_INTERVAL_SECONDS = 60.0


class RouteClass(StrEnum):
    DEFAULT = "default"
    PUBLIC = "public"
    LOGIN = "login"
    LOGIN_ACCOUNT = "login_account"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Policy:
    """The limits of one route class: every window must have room for a request to pass."""

    route_class: RouteClass
    items: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, route_class: RouteClass, notation: str) -> Policy:
        return cls(route_class, tuple(parse_many(notation)))


@dataclass(frozen=True)
class Decision:
    """The outcome of one check and the window reported in the RateLimit-* headers.

    ``limit`` is None when the storage failed: the request is allowed and no window is known.
    ``reset_seconds`` is the time until the window's oldest counted request leaves it.
    """

    allowed: bool
    limit: int | None = None
    remaining: int = 0
    reset_seconds: int = 0
    window: str = ""

    @property
    def result(self) -> str:
        if self.limit is None:
            return "error"
        return "allowed" if self.allowed else "limited"


FAILED_OPEN = Decision(allowed=True)


def policies_from_settings(settings: Settings) -> dict[RouteClass, Policy]:
    notations = {
        RouteClass.DEFAULT: settings.rate_limit_default,
        RouteClass.PUBLIC: settings.rate_limit_public,
        RouteClass.LOGIN: settings.rate_limit_login_ip,
        RouteClass.LOGIN_ACCOUNT: settings.rate_limit_login_account,
        RouteClass.WEBHOOK: settings.rate_limit_webhook,
    }
    return {route_class: Policy.parse(route_class, text) for route_class, text in notations.items()}


def storage_uri(redis_url: str) -> str:
    """Return the `limits` storage URI: Redis when configured, process memory otherwise."""
    if not redis_url:
        return "async+memory://"
    if redis_url.startswith("async+"):
        return redis_url
    return f"async+{redis_url}"


class RateLimiter:
    """Moving-window limits kept in one storage. A storage failure allows the request.

    The moving window counts the requests of the last full period, so a client cannot send
    twice the limit across the boundary of two fixed windows.
    """

    def __init__(
        self,
        uri: str,
        *,
        key_prefix: str,
        error_cooldown_seconds: float = ERROR_COOLDOWN_SECONDS,
        warning_interval_seconds: float = WARNING_INTERVAL_SECONDS,
    ) -> None:
        # Any, because limits types these options narrower than redis-py accepts them.
        options: dict[str, Any] = {}
        if not uri.startswith("async+memory"):
            options = {
                # redis-py, which the menu cache uses too, took about 20% less CPU per check
                # than coredis, limits' default client (limits 5.8, on a 2-core VM).
                "implementation": "redispy",
                "key_prefix": key_prefix,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "retry": Retry(NoBackoff(), retries=0),
            }
        self.storage = storage_from_string(uri, wrap_exceptions=True, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.error_cooldown_seconds = error_cooldown_seconds
        self.warning_interval_seconds = warning_interval_seconds
        self._skip_until = 0.0
        self._last_warning = -math.inf
        self._errors_since_warning = 0
        self._failing = False

    async def acquire(self, policy: Policy, key: str) -> Decision:
        """Count one request against every window of ``policy`` and decide if it may pass."""
        decision = await self._guarded(lambda: self._acquire(policy, key), FAILED_OPEN)
        RATE_LIMIT_DECISIONS.labels(policy.route_class.value, decision.result).inc()
        return decision

    async def peek(self, policy: Policy, key: str) -> Decision:
        """Decide if one more request may pass, without counting it."""
        decision = await self._guarded(lambda: self._peek(policy, key), FAILED_OPEN)
        RATE_LIMIT_DECISIONS.labels(policy.route_class.value, decision.result).inc()
        return decision

    async def add(self, policy: Policy, key: str) -> None:
        """Count one event against every window of ``policy`` that has room left."""

        async def hit_all() -> None:
            for item in policy.items:
                await self.strategy.hit(item, policy.route_class.value, key)

        await self._guarded(hit_all, None)

    async def clear(self, policy: Policy, key: str) -> None:
        """Forget what ``key`` has used of every window of ``policy``."""

        async def clear_all() -> None:
            for item in policy.items:
                await self.strategy.clear(item, policy.route_class.value, key)

        await self._guarded(clear_all, None)

    async def _acquire(self, policy: Policy, key: str) -> Decision:
        for item in policy.items:
            if not await self.strategy.hit(item, policy.route_class.value, key):
                return await self._window(item, policy, key, allowed=False)
        return await self._tightest_window(policy, key)

    async def _peek(self, policy: Policy, key: str) -> Decision:
        for item in policy.items:
            if not await self.strategy.test(item, policy.route_class.value, key):
                return await self._window(item, policy, key, allowed=False)
        return await self._tightest_window(policy, key)

    async def _tightest_window(self, policy: Policy, key: str) -> Decision:
        windows = [await self._window(item, policy, key, allowed=True) for item in policy.items]
        return min(windows, key=lambda window: window.remaining)

    async def _window(
        self, item: RateLimitItem, policy: Policy, key: str, *, allowed: bool
    ) -> Decision:
        stats = await self.strategy.get_window_stats(item, policy.route_class.value, key)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=max(0, math.ceil(stats.reset_time - time.time())),
            window=str(item),
        )

    async def _guarded(self, operation: Callable[[], Awaitable[T]], fallback: T) -> T:
        if time.monotonic() < self._skip_until:
            self._note_error(None)
            return fallback
        try:
            outcome = await operation()
        except StorageError as exc:
            self._skip_until = time.monotonic() + self.error_cooldown_seconds
            self._note_error(exc)
            return fallback
        if self._failing:
            self._failing = False
            logger.info("rate_limit.storage_recovered")
        return outcome

    def _note_error(self, exc: StorageError | None) -> None:
        """Count a failed or skipped check and log a warning at most once per interval."""
        self._failing = True
        self._errors_since_warning += 1
        now = time.monotonic()
        if exc is None or now - self._last_warning < self.warning_interval_seconds:
            return
        error = exc.storage_error
        logger.warning(
            "rate_limit.storage_failed",
            error=f"{type(error).__name__}: {error}",
            failures=self._errors_since_warning,
            action="requests pass without rate limits until the storage replies again",
        )
        self._last_warning = now
        self._errors_since_warning = 0
