"""Rate limit policies and the limiter that checks them against Redis or process memory.

With Redis, a Lua script counts the request against every window of the policy and returns
the decision with the figures of the RateLimit-* headers, in one round trip. The ``limits``
library needs one call to count and another to read a window's figures, per window, and each
awaited round trip costs more CPU in the client than the rest of a cached menu read. So
checks that arrive while a run is in flight share the next run: under load one round trip
serves many requests, each still counted exactly in Redis. The script keeps a sliding window
counter per window: the count of the current fixed window plus the previous window's count
weighted by how much of it the sliding window still covers. That is two numbers in one hash
per window, where a moving window keeps a list entry per counted request. The fixed windows
follow the Redis server's clock, so every replica agrees on them.

Without Redis, the counters live in process memory and ``limits`` keeps a moving window, as
each process counts on its own there and a local call costs no round trip.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

import redis.asyncio as redis
import structlog
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from zapora.config import Settings
from zapora.observability.metrics import RATE_LIMIT_DECISIONS
from zapora.ratelimit.leases import Granted, Lease, lease_terms

logger = structlog.get_logger(__name__)

T = TypeVar("T")

# Redis runs next to the replicas, so a reply slower than this counts as a failure and the
# request goes on unlimited. With no retries a hung Redis delays one request by about this.
REDIS_TIMEOUT_SECONDS = 0.25
# After a storage error the limiter lets requests through without asking the storage for
# this long, so a hung Redis costs one timeout per interval instead of one per request.
ERROR_COOLDOWN_SECONDS = 5.0
WARNING_INTERVAL_SECONDS = 60.0
# URL schemes the script runs on. Other storages (Sentinel, Cluster) go through ``limits``.
SCRIPT_SCHEMES = ("redis://", "rediss://", "unix://")

# The modes of a check.
ACQUIRE, PEEK, ADD = 1, 2, 3
# Maximum count of checks in one script run. Further checks wait for the next run.
MAX_CHECKS_PER_CALL = 256
# Maximum count of remembered client keys. Past it they are all forgotten.
MAX_REMEMBERED_KEYS = 4096

# The script decides several checks in one run, one after another, so each check reads the
# counts written by the checks before it. ARGV[1] contains decimal numbers separated by
# spaces: the count of checks, then, for each check, its mode, the count of requests it
# requests, its count of windows, and the limit and the period in milliseconds of each window.
# KEYS contain one hash per window of each check, in the same order. Each hash contains the
# index of the fixed window it counts ("w"), the count of that window ("c") and of the one
# before it ("p"). One string each way keeps the client's encoding and parsing, which cost
# more than the script, to one value per run.
#
# ACQUIRE counts as many of the requests asked for as every window has room for, at least
# one, and nothing when a window is full. PEEK counts nothing. ADD counts one request in each
# window that has room.
# The reply is a string of six numbers per check: allowed, limit, remaining, reset in ms,
# window number (1-based) and the count of requests counted. The figures describe the full
# window that frees up last, or the window with the least room left when all have room.
# ``reset`` is the time until one more request fits when the request is rejected, and the
# time until the current fixed window ends, and its count starts to fade, otherwise.
SLIDING_WINDOW_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local args = {}
for token in string.gmatch(ARGV[1], '%S+') do
  args[#args + 1] = tonumber(token)
end

local function decide(mode, amount, first_key, first_arg, count)
  local windows = {}
  local allowed = 1
  local rejected = 0
  local fits = amount
  for i = 1, count do
    local key = KEYS[first_key + i - 1]
    local limit = args[first_arg + 2 * (i - 1)]
    local period = args[first_arg + 2 * (i - 1) + 1]
    local index = math.floor(now / period)
    local elapsed = now - index * period
    local stored = redis.call('HMGET', key, 'w', 'c', 'p')
    local current, previous = 0, 0
    local stored_index = tonumber(stored[1])
    if stored_index == index then
      current = tonumber(stored[2]) or 0
      previous = tonumber(stored[3]) or 0
    elseif stored_index == index - 1 then
      previous = tonumber(stored[2]) or 0
    end
    local weighted = previous * (period - elapsed) / period + current
    local room = weighted + 1 <= limit
    if not room and rejected == 0 then
      allowed = 0
      rejected = i
    end
    if room then
      fits = math.min(fits, math.max(1, math.floor(limit - weighted)))
    end
    windows[i] = {key, limit, period, index, elapsed, current, previous, weighted, room}
  end
  local counted = 0
  if mode == 1 and allowed == 1 then
    counted = fits
  elseif mode == 3 then
    counted = 1
  end
  for i, w in ipairs(windows) do
    if (mode == 1 and allowed == 1) or (mode == 3 and w[9]) then
      w[6] = w[6] + counted
      w[8] = w[8] + counted
      redis.call('HSET', w[1], 'w', w[4], 'c', w[6], 'p', w[7])
      redis.call('PEXPIRE', w[1], 2 * w[3] - w[5])
    end
  end
  if allowed == 0 then
    -- The longest wait among the full windows, so a client that waits as told gets in.
    local worst, worst_wait = rejected, -1
    for i, w in ipairs(windows) do
      if not w[9] then
        local limit, period, elapsed = w[2], w[3], w[5]
        local current, previous = w[6], w[7]
        local target = limit - 1
        local wait
        if current <= target then
          wait = (period - elapsed) - (target - current) * period / previous
        else
          wait = (period - elapsed) + period - target * period / current
        end
        if wait > worst_wait then
          worst, worst_wait = i, wait
        end
      end
    end
    return {0, windows[worst][2], 0, math.ceil(math.max(0, worst_wait)), worst, counted}
  end
  local best, best_remaining = 1, nil
  for i, w in ipairs(windows) do
    local remaining = math.max(0, math.floor(w[2] - w[8] + 1e-9))
    if best_remaining == nil or remaining < best_remaining then
      best, best_remaining = i, remaining
    end
  end
  local w = windows[best]
  return {1, w[2], best_remaining, w[3] - w[5], best, counted}
end

local reply = {}
local next_key, next_arg = 1, 2
for _ = 1, args[1] do
  local mode = args[next_arg]
  local amount = args[next_arg + 1]
  local count = args[next_arg + 2]
  local decision = decide(mode, amount, next_key, next_arg + 3, count)
  for _, value in ipairs(decision) do
    reply[#reply + 1] = string.format('%d', value)
  end
  next_key = next_key + count
  next_arg = next_arg + 3 + 2 * count
end
return table.concat(reply, ' ')
"""


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
    ``reset_seconds`` is the time until the window lets one more request through.
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


class StorageFailedError(Exception):
    """Error of a failed storage call. ``cause`` is the storage client's own error."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Windows:
    """The counters of one storage."""

    async def check(self, mode: int, policy: Policy, key: str) -> Decision:
        raise NotImplementedError

    async def clear(self, policy: Policy, key: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


@dataclass(slots=True)
class _PendingCheck:
    """A check waiting for the next script run, and the future its caller awaits."""

    mode: int
    amount: int
    keys: list[str]
    arguments: str
    future: asyncio.Future[list[bytes]]


class _ScriptWindows(_Windows):
    """Sliding window counters in Redis, checked by ``SLIDING_WINDOW_SCRIPT``.

    A check made while no script run is in flight goes out at once. Checks made while one is
    in flight wait for it to end and then go out together in the next run, so under load
    many requests share one round trip. Redis runs a script atomically, so each check is still
    counted exactly, in order, against counters every replica shares.
    """

    def __init__(self, url: str, key_prefix: str) -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), retries=0),
            client_name="zapora-ratelimit",
        )
        self.script = self.client.register_script(SLIDING_WINDOW_SCRIPT)
        # "sliding:" keeps these hashes apart from the lists of the moving window.
        self.key_prefix = f"{key_prefix}:sliding:"
        # The script's arguments of each policy. Policies are few and never change.
        self._arguments: dict[Policy, str] = {}
        # The Redis keys of recent clients, which come back often. Building them costs more
        # than a lookup.
        self._key_lists: dict[tuple[Policy, str], list[str]] = {}
        # The lease terms of each policy, and the current lease of each recent client.
        self._lease_terms_of: dict[Policy, tuple[int, float]] = {}
        self._leases: dict[tuple[Policy, str], Lease] = {}
        self._pending: list[_PendingCheck] = []
        self._sender: asyncio.Task[None] | None = None
        # Script runs go one at a time, so they keep one connection and skip the pool and the
        # client's command machinery, measured locally at about a third of a run's CPU time.
        self._connection: AbstractConnection | None = None

    def _keys(self, policy: Policy, key: str) -> list[str]:
        known = self._key_lists.get((policy, key))
        if known is not None:
            return known
        route_class = policy.route_class.value
        keys = [self.key_prefix + item.key_for(route_class, key) for item in policy.items]
        if len(self._key_lists) >= MAX_REMEMBERED_KEYS:
            self._key_lists.clear()
        self._key_lists[(policy, key)] = keys
        return keys

    def _policy_arguments(self, policy: Policy) -> str:
        """Return the count of windows and each window's limit and period, as the script
        reads them."""
        arguments = self._arguments.get(policy)
        if arguments is None:
            numbers = [len(policy.items)]
            for item in policy.items:
                numbers += (item.amount, item.get_expiry() * 1000)
            arguments = " ".join(str(number) for number in numbers)
            self._arguments[policy] = arguments
        return arguments

    async def check(self, mode: int, policy: Policy, key: str) -> Decision:
        if mode == ACQUIRE and self._lease_terms(policy)[0] > 1:
            return await self._acquire_leased(policy, key)
        decision, _, _ = await self._run_check(mode, 1, policy, key)
        return decision

    def _lease_terms(self, policy: Policy) -> tuple[int, float]:
        """Return the largest lease of ``policy`` and how long a lease of it lives."""
        terms = self._lease_terms_of.get(policy)
        if terms is None:
            terms = lease_terms([(item.amount, item.get_expiry()) for item in policy.items])
            self._lease_terms_of[policy] = terms
        return terms

    async def _acquire_leased(self, policy: Policy, key: str) -> Decision:
        """Take a request from the client's lease, or run the script for the next lease.

        While one request of the client refills its lease, the others are checked one by
        one as without leases, so that they share the next script run instead of waiting.
        """
        now = time.monotonic()
        lease = self._leases.get((policy, key))
        if lease is None:
            if len(self._leases) >= MAX_REMEMBERED_KEYS:
                self._forget_leases(now)
            lease = self._leases[(policy, key)] = Lease()
        granted = lease.take(now)
        if granted is not None:
            return Decision(
                allowed=True,
                limit=granted.limit,
                remaining=lease.remaining(granted),
                reset_seconds=lease.reset_seconds(granted, now),
                window=granted.window,
            )
        if lease.refilling:
            decision, _, _ = await self._run_check(ACQUIRE, 1, policy, key)
            return decision
        lease.refilling = True
        try:
            largest, lifetime = self._lease_terms(policy)
            size = lease.next_size(now, largest)
            decision, counted, reset_ms = await self._run_check(ACQUIRE, size, policy, key)
        finally:
            lease.refilling = False
        if not counted:
            lease.empty()
            return decision
        now = time.monotonic()
        granted = Granted(
            limit=decision.limit or 0,
            remaining=decision.remaining,
            reset_at=now + reset_ms / 1000,
            window=decision.window,
        )
        lease.fill(counted, granted, now, lifetime)
        return replace(decision, remaining=lease.remaining(granted))

    def _forget_leases(self, now: float) -> None:
        """Forget the leases that ended, or every lease when none did."""
        ended = [client for client, lease in self._leases.items() if lease.ended(now)]
        for client in ended:
            del self._leases[client]
        if not ended:
            # Their unused requests stay counted, as with a lease that ends unused.
            self._leases.clear()

    async def _run_check(
        self, mode: int, amount: int, policy: Policy, key: str
    ) -> tuple[Decision, int, int]:
        """Send one check with the next script run.

        Return its decision, the count of requests it counted and its reset in milliseconds.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bytes]] = loop.create_future()
        self._pending.append(
            _PendingCheck(
                mode, amount, self._keys(policy, key), self._policy_arguments(policy), future
            )
        )
        if self._sender is None or self._sender.get_loop() is not loop:
            self._start_sender(loop)
        allowed, limit, remaining, reset_ms, window, counted = (
            int(value) for value in await future
        )
        decision = Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=remaining,
            reset_seconds=math.ceil(reset_ms / 1000),
            window=str(policy.items[window - 1]),
        )
        return decision, counted, reset_ms

    def _start_sender(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sender is not None:
            # The loop of the previous sender has stopped: its checks and its connection
            # cannot be used from this one.
            self._pending = [check for check in self._pending if check.future.get_loop() is loop]
            self._connection = None
            self._leases.clear()
        # A context of its own: a run serves many requests, and belongs to none of them.
        self._sender = loop.create_task(self._send_pending(), context=contextvars.Context())

    async def _send_pending(self) -> None:
        """Run the script for the waiting checks until none is left."""
        try:
            while self._pending:
                batch = [
                    check
                    for check in self._pending[:MAX_CHECKS_PER_CALL]
                    if not check.future.done()
                ]
                del self._pending[:MAX_CHECKS_PER_CALL]
                if batch:
                    await self._run(batch)
        finally:
            self._sender = None

    async def _run(self, batch: list[_PendingCheck]) -> None:
        keys = [key for check in batch for key in check.keys]
        arguments = " ".join(
            [
                str(len(batch)),
                *(f"{check.mode} {check.amount} {check.arguments}" for check in batch),
            ]
        )
        try:
            reply = (await self._evaluate(keys, arguments)).split()
        except BaseException as error:
            # Cancelled at shutdown, or Redis failed: every waiting caller gets the failure.
            for check in batch:
                if not check.future.done():
                    check.future.set_exception(StorageFailedError(error))
            # The callers' limiter logs the failure. Only a cancellation ends the sender, so
            # checks that wait behind this batch still go out.
            if isinstance(error, Exception):
                return
            raise
        for index, check in enumerate(batch):
            if not check.future.done():
                check.future.set_result(reply[6 * index : 6 * index + 6])

    async def _evaluate(self, keys: list[str], arguments: str) -> bytes:
        """Run the script on the connection kept for it, and return its reply."""
        connection = self._connection
        if connection is None:
            pool = self.client.connection_pool
            connection = self._connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_command("EVALSHA", self.script.sha, len(keys), *keys, arguments)
            try:
                reply: bytes = await connection.read_response()
            except NoScriptError:
                # Redis restarted or dropped its scripts: EVAL runs and caches the script again.
                await connection.send_command(
                    "EVAL", SLIDING_WINDOW_SCRIPT, len(keys), *keys, arguments
                )
                reply = await connection.read_response()
        except BaseException:
            # A failed or cancelled call may leave its reply unread. The next call connects
            # again instead of reading it as its own.
            await connection.disconnect(nowait=True)
            raise
        return reply

    async def clear(self, policy: Policy, key: str) -> None:
        self._leases.pop((policy, key), None)
        try:
            await self.client.delete(*self._keys(policy, key))
        except (RedisError, OSError) as error:
            raise StorageFailedError(error) from error

    async def close(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None and not sender.done():
            sender.cancel()
            if sender.get_loop() is asyncio.get_running_loop():
                await asyncio.wait({sender})
        for check in self._pending:
            if not check.future.done():
                check.future.set_exception(StorageFailedError(RedisError("limiter closed")))
        self._pending.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            await self.client.connection_pool.release(connection)
        await self.client.aclose()


class _LimitsWindows(_Windows):
    """Moving windows kept by ``limits``: process memory, or a Redis it reaches itself."""

    def __init__(self, uri: str, key_prefix: str) -> None:
        # Any, because limits types these options narrower than redis-py accepts them.
        options: dict[str, Any] = {}
        if not uri.startswith("async+memory"):
            options = {
                "implementation": "redispy",
                "key_prefix": key_prefix,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "retry": Retry(NoBackoff(), retries=0),
            }
        self.storage = storage_from_string(uri, wrap_exceptions=True, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def check(self, mode: int, policy: Policy, key: str) -> Decision:
        try:
            return await self._check(mode, policy, key)
        except StorageError as error:
            raise StorageFailedError(error.storage_error) from error

    async def _check(self, mode: int, policy: Policy, key: str) -> Decision:
        route_class = policy.route_class.value
        if mode == ADD:
            for item in policy.items:
                await self.strategy.hit(item, route_class, key)
            return FAILED_OPEN
        for item in policy.items:
            if mode == ACQUIRE:
                passed = await self.strategy.hit(item, route_class, key)
            else:
                passed = await self.strategy.test(item, route_class, key)
            if not passed:
                return await self._longest_wait(policy, route_class, key)
        windows = [
            await self._window(item, route_class, key, allowed=True) for item in policy.items
        ]
        return min(windows, key=lambda window: window.remaining)

    async def _longest_wait(self, policy: Policy, route_class: str, key: str) -> Decision:
        """Return the full window that frees up last, so that waiting for it is enough."""
        windows = [
            await self._window(item, route_class, key, allowed=False) for item in policy.items
        ]
        full = [window for window in windows if window.remaining == 0] or windows
        return max(full, key=lambda window: window.reset_seconds)

    async def _window(
        self, item: RateLimitItem, route_class: str, key: str, *, allowed: bool
    ) -> Decision:
        stats = await self.strategy.get_window_stats(item, route_class, key)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=max(0, math.ceil(stats.reset_time - time.time())),
            window=str(item),
        )

    async def clear(self, policy: Policy, key: str) -> None:
        try:
            for item in policy.items:
                await self.strategy.clear(item, policy.route_class.value, key)
        except StorageError as error:
            raise StorageFailedError(error.storage_error) from error


class RateLimiter:
    """Limits kept in one storage, shared by the replicas on Redis. A storage failure allows
    the request.

    Both storages count the requests of a window that slides with time, so a client cannot
    send twice the limit across the boundary of two fixed windows.
    """

    def __init__(
        self,
        uri: str,
        *,
        key_prefix: str,
        error_cooldown_seconds: float = ERROR_COOLDOWN_SECONDS,
        warning_interval_seconds: float = WARNING_INTERVAL_SECONDS,
    ) -> None:
        url = uri.removeprefix("async+")
        self.windows: _Windows
        if url.startswith(SCRIPT_SCHEMES):
            self.windows = _ScriptWindows(url, key_prefix)
        else:
            self.windows = _LimitsWindows(uri, key_prefix)
        self.error_cooldown_seconds = error_cooldown_seconds
        self.warning_interval_seconds = warning_interval_seconds
        self._skip_until = 0.0
        self._last_warning = -math.inf
        self._errors_since_warning = 0
        self._failing = False
        self._decision_counters: dict[tuple[RouteClass, str], Any] = {}

    async def acquire(self, policy: Policy, key: str) -> Decision:
        """Count one request against every window of ``policy`` and decide if it may pass.

        A rejected request is not counted in any window.
        """
        decision = await self._guarded(
            lambda: self.windows.check(ACQUIRE, policy, key), FAILED_OPEN
        )
        self._count(policy.route_class, decision.result)
        return decision

    async def peek(self, policy: Policy, key: str) -> Decision:
        """Decide if one more request may pass, without counting it."""
        decision = await self._guarded(lambda: self.windows.check(PEEK, policy, key), FAILED_OPEN)
        self._count(policy.route_class, decision.result)
        return decision

    async def add(self, policy: Policy, key: str) -> None:
        """Count one event against every window of ``policy`` that has room left."""
        await self._guarded(lambda: self.windows.check(ADD, policy, key), FAILED_OPEN)

    async def clear(self, policy: Policy, key: str) -> None:
        """Forget what ``key`` has used of every window of ``policy``."""
        await self._guarded(lambda: self.windows.clear(policy, key), None)

    async def close(self) -> None:
        await self.windows.close()

    def _count(self, route_class: RouteClass, result: str) -> None:
        counter = self._decision_counters.get((route_class, result))
        if counter is None:
            counter = RATE_LIMIT_DECISIONS.labels(route_class.value, result)
            self._decision_counters[(route_class, result)] = counter
        counter.inc()

    async def _guarded(self, operation: Callable[[], Awaitable[T]], fallback: T) -> T:
        if self._skip_until and time.monotonic() < self._skip_until:
            self._note_error(None)
            return fallback
        try:
            outcome = await operation()
        except StorageFailedError as failure:
            self._skip_until = time.monotonic() + self.error_cooldown_seconds
            self._note_error(failure.cause)
            return fallback
        if self._failing:
            self._failing = False
            logger.info("rate_limit.storage_recovered")
        return outcome

    def _note_error(self, error: BaseException | None) -> None:
        """Count a failed or skipped check and log a warning at most once per interval."""
        self._failing = True
        self._errors_since_warning += 1
        now = time.monotonic()
        if error is None or now - self._last_warning < self.warning_interval_seconds:
            return
        logger.warning(
            "rate_limit.storage_failed",
            error=f"{type(error).__name__}: {error}",
            failures=self._errors_since_warning,
            action="requests pass without rate limits until the storage replies again",
        )
        self._last_warning = now
        self._errors_since_warning = 0
