"""The shared cache: Redis when ``ZAPORA_REDIS_URL`` is set, process memory otherwise.

Values are bytes or integers. The Redis backend runs without a pickler, so nothing read back
from Redis is ever unpickled.

``InvalidationChannel`` notifies every process that an entry it keeps in its own memory
changed, so that hot reads cost no Redis round trip. cashews has a client-side mode for this
(``BcastClientSide``, built on Redis key tracking, cashews 7.6), which does not fit here:

- Its local copies never expire. A subscription that dies without an error, as on a dropped
  network path, keeps stale values until the process restarts.
- A value read from Redis just before its invalidation arrives is stored after it, again
  with no expiry.
- It stores misses too. A process that waits for another's load then reads its stored miss
  instead of the loaded value.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
import structlog
from cashews import Cache, CacheBackendInteractionError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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

# A lost subscription is retried after this long. Meanwhile every read goes to Redis.
RESUBSCRIBE_SECONDS = 1.0
CLOSE_WAIT_SECONDS = 1.0

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


def attach_to_sessions(
    session_factory: async_sessionmaker[AsyncSession], key: str, value: object
) -> None:
    """Put ``value`` in the ``info`` of every session ``session_factory`` makes, under ``key``."""
    info: dict[Any, Any] = dict(session_factory.kw.get("info") or {})
    info[key] = value
    session_factory.configure(info=info)


def drop_by_id(
    drop: Callable[[Iterable[uuid.UUID]], None], drop_all: Callable[[], None]
) -> Callable[[str], None]:
    """Build an ``on_message`` for a channel whose messages are ids.

    A message drops the copies of the id it names. A message that is not an id drops every
    copy, because the owner cannot tell which copy it meant.
    """

    def on_message(message: str) -> None:
        try:
            dropped = uuid.UUID(message)
        except ValueError:
            drop_all()
            return
        drop((dropped,))

    return on_message


class InvalidationChannel:
    """A Redis pub/sub channel that notifies every process of the local copies to drop.

    ``listening`` is true only while the subscription is confirmed: a process may keep
    local copies only then. ``on_reset`` runs when the subscription starts and whenever it
    is lost, because messages sent while it was down are lost too. The owner then drops every
    copy, and a copy read before a reset or a message must not be kept after it. The subscription
    starts with the first call to ``start`` from a running event loop.
    """

    def __init__(
        self,
        redis_url: str,
        channel: str,
        *,
        on_message: Callable[[str], None],
        on_reset: Callable[[], None],
    ) -> None:
        self.channel = channel
        self.on_message = on_message
        self.on_reset = on_reset
        self.client = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            # A subscription that redis-py restored by itself would hide the messages lost
            # while it was down, so every failure reaches ``_listen_forever`` instead.
            retry=Retry(NoBackoff(), retries=0),
            client_name="zapora-cache-invalidation",
        )
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._lost_logged = False

    def start(self) -> None:
        if self._task is None and not self._closed:
            # A context of its own, so that its log lines carry no request's fields.
            self._task = asyncio.get_running_loop().create_task(
                self._listen_forever(), context=contextvars.Context()
            )

    async def publish(self, message: str) -> None:
        await self.client.publish(self.channel, message)

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # NOTE: redis-py 8.2 can swallow a cancellation during a read. The loop then stops
            # on ``_closed`` at the next message, and the wait is bounded for that case.
            await asyncio.wait({task}, timeout=CLOSE_WAIT_SECONDS)
        self._reset()
        await self.client.aclose()

    def _reset(self) -> None:
        self.listening = False
        self.on_reset()

    async def _listen_forever(self) -> None:
        while not self._closed:
            try:
                await self._listen()
            except Exception as error:
                self._reset()
                if not self._lost_logged:
                    logger.warning(
                        "cache.invalidation_lost",
                        channel=self.channel,
                        error=repr(error),
                        action="local copies are dropped and every read goes to Redis",
                    )
                    self._lost_logged = True
                await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def _listen(self) -> None:
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            while True:
                confirmation = await pubsub.get_message(timeout=REDIS_TIMEOUT_SECONDS)
                if confirmation is None:
                    raise TimeoutError("the subscription was not confirmed")
                if confirmation["type"] == "subscribe":
                    break
            self.on_reset()
            self.listening = True
            if self._lost_logged:
                logger.info("cache.invalidation_resumed", channel=self.channel)
                self._lost_logged = False
            while not self._closed:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is not None and message["type"] == "message":
                    self.on_message(message["data"].decode())
        finally:
            self.listening = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
