"""A busy client's requests are counted in Redis several at a time, before they pass."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from tests.ratelimit.conftest import PrivateRedis
from tests.ratelimit.test_coalescing import _script_calls
from zapora.ratelimit.leases import LEASE_SECONDS, Granted, Lease, lease_terms
from zapora.ratelimit.limiter import Decision, Policy, RateLimiter, RouteClass, storage_uri

# Large enough for leases of up to 100 requests.
BUSY = Policy.parse(RouteClass.PUBLIC, "10000/minute")


async def _counted(url: str) -> int:
    """Return the count of the current fixed window of every sliding window hash."""
    client = redis.Redis.from_url(url)
    try:
        total = 0
        async for key in client.scan_iter(match="zapora-test:sliding:*"):
            total += int(await client.hget(key, "c") or 0)
    finally:
        await client.aclose()
    return total


async def _limiter(server: PrivateRedis, **options: float) -> RateLimiter:
    """Start ``server`` and return a limiter on it that has loaded its script."""
    await server.start()
    limiter = RateLimiter(storage_uri(server.url), key_prefix="zapora-test", **options)
    await limiter.acquire(BUSY, "warm-up")
    return limiter


async def test_busy_client_costs_few_script_calls(private_redis: PrivateRedis) -> None:
    limiter = await _limiter(private_redis)
    calls_before = await _script_calls(private_redis.url)

    decisions = [await limiter.acquire(BUSY, "client") for _ in range(500)]
    calls = await _script_calls(private_redis.url) - calls_before
    counted = await _counted(private_redis.url)
    await limiter.close()

    assert all(decision.allowed for decision in decisions)
    # Leases of 1, 2, 4, ..., 64 and then 100 requests: 11 calls where 500 were made before.
    assert calls == 11
    # Every request that passed was counted first, and the last lease keeps the rest.
    assert 500 <= counted - 1 < 500 + 100


async def test_remaining_counts_down_through_leases(private_redis: PrivateRedis) -> None:
    limiter = await _limiter(private_redis)

    decisions = [await limiter.acquire(BUSY, "client") for _ in range(40)]
    await limiter.close()

    assert [decision.remaining for decision in decisions] == list(range(9999, 9959, -1))
    assert {(decision.limit, decision.window) for decision in decisions} == {
        (10000, "10000 per 1 minute")
    }
    assert all(0 < decision.reset_seconds <= 60 for decision in decisions)


async def test_replicas_stay_under_limit(private_redis: PrivateRedis) -> None:
    policy = Policy.parse(RouteClass.PUBLIC, "1000/minute")
    await private_redis.start()
    replicas = [
        RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test") for _ in range(2)
    ]

    async def client(replica: RateLimiter) -> list[Decision]:
        return [await replica.acquire(policy, "client") for _ in range(750)]

    results = await asyncio.gather(*(client(replica) for replica in replicas))
    for replica in replicas:
        await replica.close()

    allowed = sum(decision.allowed for decisions in results for decision in decisions)
    assert allowed <= 1000
    # Each replica may hold at most one lease of 10 unused when the window fills.
    assert allowed >= 1000 - 2 * 10
    rejected = [decision for decisions in results for decision in decisions if not decision.allowed]
    assert rejected
    assert all(decision.remaining == 0 and decision.reset_seconds > 0 for decision in rejected)


async def _concurrently(
    limiter: RateLimiter, server: PrivateRedis, policy: Policy, count: int
) -> tuple[list[Decision], int]:
    """Send ``count`` checks of one client at once; return the decisions and script calls."""
    calls_before = await _script_calls(server.url)
    decisions = await asyncio.gather(*(limiter.acquire(policy, "client") for _ in range(count)))
    calls = await _script_calls(server.url) - calls_before
    await limiter.close()
    return list(decisions), calls


async def test_concurrent_requests_share_script_runs(private_redis: PrivateRedis) -> None:
    limiter = await _limiter(private_redis)

    decisions, calls = await _concurrently(limiter, private_redis, BUSY, 60)

    assert all(decision.allowed for decision in decisions)
    assert sorted(decision.remaining for decision in decisions)[-1] == 9999
    assert len({decision.remaining for decision in decisions}) == 60
    # One request refills the lease, and the others are checked together in the next run.
    assert calls <= 3


async def test_limited_client_checks_share_runs(private_redis: PrivateRedis) -> None:
    policy = Policy.parse(RouteClass.PUBLIC, "200/minute")
    limiter = await _limiter(private_redis)
    for _ in range(200):
        await limiter.acquire(policy, "client")

    decisions, calls = await _concurrently(limiter, private_redis, policy, 200)

    assert not any(decision.allowed for decision in decisions)
    assert calls <= 3


async def test_lease_ends_within_short_window(private_redis: PrivateRedis) -> None:
    policy = Policy.parse(RouteClass.PUBLIC, "1000/second")
    limiter = await _limiter(private_redis)
    for _ in range(16):
        await limiter.acquire(policy, "client")
    calls_before = await _script_calls(private_redis.url)

    await asyncio.sleep(0.15)
    await limiter.acquire(policy, "client")
    calls = await _script_calls(private_redis.url) - calls_before
    await limiter.close()

    # The fifth lease, of 16 requests, has 15 left, which expire after a tenth of a second.
    assert calls == 1


async def test_small_limits_skip_leases(private_redis: PrivateRedis) -> None:
    policy = Policy.parse(RouteClass.PUBLIC, "199/minute;20000/hour")
    limiter = await _limiter(private_redis)
    calls_before = await _script_calls(private_redis.url)

    decisions = [await limiter.acquire(policy, "client") for _ in range(20)]
    calls = await _script_calls(private_redis.url) - calls_before
    await limiter.close()

    assert calls == 20
    assert [decision.remaining for decision in decisions] == list(range(198, 178, -1))


async def test_concurrent_requests_fail_open(private_redis: PrivateRedis) -> None:
    limiter = await _limiter(private_redis, error_cooldown_seconds=0.0)
    await limiter.acquire(BUSY, "client")
    await private_redis.stop()

    decisions = await asyncio.wait_for(
        asyncio.gather(*(limiter.acquire(BUSY, "client") for _ in range(20))), timeout=5
    )
    await private_redis.start()
    after = await limiter.acquire(BUSY, "client")
    await limiter.close()

    assert [decision.result for decision in decisions] == ["error"] * 20
    # The restarted server kept no counts.
    assert (after.result, after.remaining) == ("allowed", 9999)


async def test_clear_drops_the_lease(private_redis: PrivateRedis) -> None:
    limiter = await _limiter(private_redis)
    for _ in range(10):
        await limiter.acquire(BUSY, "client")

    await limiter.clear(BUSY, "client")
    after = await limiter.acquire(BUSY, "client")
    counted = await _counted(private_redis.url)
    await limiter.close()

    assert after.remaining == 9999
    # The warm-up's request and this one.
    assert counted == 2


def test_lease_terms_follow_policy() -> None:
    assert lease_terms([(10000, 60.0)]) == (100, LEASE_SECONDS)
    assert lease_terms([(1_000_000, 60.0), (5000, 3600.0)]) == (50, LEASE_SECONDS)
    assert lease_terms([(1000, 1.0)]) == (10, 0.1)
    assert lease_terms([(199, 60.0)]) == (1, LEASE_SECONDS)
    assert lease_terms([(5, 60.0)]) == (1, LEASE_SECONDS)


@pytest.mark.parametrize(
    ("counted", "left", "elapsed", "expected"),
    [
        (0, 0, 0.0, 1),  # no lease yet: one request
        (4, 0, 0.1, 8),  # used up in time: doubles
        (64, 0, 0.1, 100),  # doubles up to the largest lease
        (8, 5, LEASE_SECONDS + 0.1, 3),  # ended with requests left: what was used
        (8, 8, LEASE_SECONDS + 0.1, 1),  # ended unused: one request
        (8, 0, LEASE_SECONDS + 0.1, 8),  # used up, then idle: as large again
    ],
)
def test_lease_size_follows_use(counted: int, left: int, elapsed: float, expected: int) -> None:
    lease = Lease()
    if counted:
        granted = Granted(limit=10000, remaining=0, reset_at=0.0, window="")
        lease.fill(counted, granted, now=0.0, lifetime=LEASE_SECONDS)
        lease.tokens = left

    assert lease.next_size(elapsed, largest=100) == expected


def test_expired_lease_hands_out_nothing() -> None:
    lease = Lease()
    granted = Granted(limit=10000, remaining=0, reset_at=0.0, window="")
    lease.fill(10, granted, now=0.0, lifetime=LEASE_SECONDS)

    assert lease.take(LEASE_SECONDS / 2) is not None
    assert lease.tokens == 8
    assert lease.take(LEASE_SECONDS) is None
