"""The shared cache: Redis when ``ZAPORA_REDIS_URL`` is set, process memory otherwise.

Values are bytes or integers. The Redis backend runs without a pickler, so nothing read back
from Redis is ever unpickled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from cashews import Cache, CacheBackendInteractionError
from redis.exceptions import RedisError

from zapora.config import Settings
from zapora.observability.metrics import CACHE_REQUESTS

logger = structlog.get_logger(__name__)

# cashews raises CacheBackendInteractionError for Redis failures when ``suppress`` is off.
# The others can surface from the connection pool before a command runs. OSError includes
# TimeoutError.
BACKEND_ERRORS: tuple[type[Exception], ...] = (CacheBackendInteractionError, RedisError, OSError)
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_MAX_CONNECTIONS = 50
MEMORY_MAX_ENTRIES = 10_000
# A loader that died keeps the shared lock this long. A load that takes longer may run twice.
LOCK_EXPIRE_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.01
ERROR_LOG_INTERVAL_SECONDS = 60.0

Loader = Callable[[], Awaitable[bytes | None]]
KeyBuilder = Callable[[], Awaitable[str]]


def create_cache(settings: Settings) -> Cache:
    """Set up a cashews cache on Redis, or in process memory when no Redis URL is set."""
    cache = Cache(name="zapora")
    if settings.redis_url:
        cache.setup(
            settings.redis_url,
            # Errors are raised, so that callers count them and read the database instead.
            suppress=False,
            pickle_type="null",
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            max_connections=REDIS_MAX_CONNECTIONS,
            wait_for_connection_timeout=REDIS_TIMEOUT_SECONDS,
            client_name="zapora-cache",
        )
    else:
        # No sweeper task: an expired entry is dropped when read, or evicted by size.
        cache.setup("mem://", size=MEMORY_MAX_ENTRIES, check_interval=0)
    return cache


class ErrorLog:
    """Log backend failures at most once per interval, with the count of unlogged ones."""

    def __init__(self, interval_seconds: float = ERROR_LOG_INTERVAL_SECONDS) -> None:
        self.interval_seconds = interval_seconds
        self._logged_at: float | None = None
        self._unlogged = 0
        self._outage_logged = False

    def failed(self, error: Exception, **fields: object) -> None:
        now = time.monotonic()
        if self._logged_at is not None and now - self._logged_at < self.interval_seconds:
            self._unlogged += 1
            return
        cause = error.__cause__ or error
        logger.warning(
            "cache.backend_failed",
            error=repr(cause),
            unlogged_failures=self._unlogged,
            **fields,
        )
        self._logged_at = now
        self._unlogged = 0
        self._outage_logged = True

    def succeeded(self) -> None:
        if self._outage_logged:
            logger.info("cache.backend_recovered")
            self._outage_logged = False


class _LoadOnce:
    """Run a database load at most once, however the cache backend fails around it."""

    def __init__(self, load: Loader) -> None:
        self._load = load
        self.done = False
        self.failed = False
        self.value: bytes | None = None

    async def __call__(self) -> bytes | None:
        if not self.done:
            try:
                self.value = await self._load()
            except BaseException:
                self.failed = True
                raise
            self.done = True
        return self.value


@dataclass
class _LocalLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ReadThroughCache:
    """Read-through lookups on a cashews cache, counted in ``CACHE_REQUESTS``.

    A cold key is loaded once across every process. In each process one coroutine per key
    competes for the cashews lock, and the others wait on a local asyncio lock. The lock
    holder loads and stores the value, and every waiter then reads it from the cache. When
    the backend fails, the lookup is counted as an error and the value is loaded directly.
    """

    def __init__(self, cache: Cache, *, errors: ErrorLog | None = None) -> None:
        self.cache = cache
        self.errors = errors or ErrorLog()
        self._local_locks: dict[str, _LocalLock] = {}

    async def fetch(
        self, name: str, key: KeyBuilder, load: Loader, *, ttl_seconds: int, wait: bool = True
    ) -> bytes | None:
        """Return the cached value, or load, store and return it; None values are not stored.

        ``name`` is the metric label. With ``wait=False`` a miss loads at once instead of
        waiting for another loader, for callers that hold a lock that loader may need.
        """
        load_once = _LoadOnce(load)
        try:
            cache_key = await key()
            value, result = await self._fetch(cache_key, load_once, ttl_seconds, wait)
        except BACKEND_ERRORS as error:
            if load_once.failed:
                raise
            CACHE_REQUESTS.labels(cache=name, result="error").inc()
            self.errors.failed(error, cache=name)
            return await load_once()
        CACHE_REQUESTS.labels(cache=name, result=result).inc()
        self.errors.succeeded()
        return value

    async def _fetch(
        self, key: str, load: _LoadOnce, ttl_seconds: int, wait: bool
    ) -> tuple[bytes | None, str]:
        value = await self.cache.get(key)
        if value is not None:
            return value, "hit"
        if not wait:
            return await self._store(key, await load(), ttl_seconds), "miss"
        async with self._local_lock(key):
            value = await self.cache.get(key)
            if value is not None:
                return value, "hit"
            async with self.cache.lock(
                f"{key}:lock", expire=LOCK_EXPIRE_SECONDS, check_interval=LOCK_POLL_SECONDS
            ):
                value = await self.cache.get(key)
                if value is not None:
                    return value, "hit"
                return await self._store(key, await load(), ttl_seconds), "miss"

    async def _store(self, key: str, value: bytes | None, ttl_seconds: int) -> bytes | None:
        if value is not None:
            await self.cache.set(key, value, expire=ttl_seconds)
        return value

    @asynccontextmanager
    async def _local_lock(self, key: str) -> AsyncIterator[None]:
        entry = self._local_locks.setdefault(key, _LocalLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._local_locks[key]
