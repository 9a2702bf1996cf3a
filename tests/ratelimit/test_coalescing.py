"""Checks made while a Redis call is in flight share the next call and still count exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from tests.ratelimit.conftest import PrivateRedis
from zapora.ratelimit.limiter import Decision, Policy, RateLimiter, RouteClass, storage_uri

POLICY = Policy.parse(RouteClass.PUBLIC, "10/minute;50/hour")


@pytest.fixture
async def limiter(storage_settings: dict[str, object]) -> AsyncIterator[RateLimiter]:
    redis_url = str(storage_settings["redis_url"])
    prefix = str(storage_settings.get("rate_limit_key_prefix", "zapora-test"))
    value = RateLimiter(storage_uri(redis_url), key_prefix=prefix)
    yield value
    await value.close()


async def _script_calls(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return sum(
        int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval")
    )


async def test_concurrent_checks_count_exactly(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(*(limiter.acquire(POLICY, "client") for _ in range(25)))

    allowed = [decision for decision in decisions if decision.allowed]
    assert len(allowed) == 10
    assert sorted(decision.remaining for decision in allowed) == list(range(10))
    assert all(decision.limit == 10 for decision in decisions)
    assert all(
        decision.window == "10 per 1 minute" for decision in decisions if not decision.allowed
    )


async def test_waiting_checks_share_one_call(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    limiter = RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test")
    await limiter.acquire(POLICY, "warm-up")
    calls_before = await _script_calls(private_redis.url)

    decisions = await asyncio.gather(
        *(limiter.acquire(POLICY, f"client-{number}") for number in range(40))
    )
    calls = await _script_calls(private_redis.url) - calls_before
    await limiter.close()

    assert [(decision.allowed, decision.remaining) for decision in decisions] == [(True, 9)] * 40
    # One call for all forty, where each check used to make its own.
    assert calls == 1


async def test_replicas_share_exact_limit(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    replicas = [
        RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test") for _ in range(2)
    ]
    checks = [replicas[number % 2].acquire(POLICY, "client") for number in range(30)]

    decisions: list[Decision] = await asyncio.gather(*checks)
    for replica in replicas:
        await replica.close()

    assert sum(decision.allowed for decision in decisions) == 10


async def test_cancelled_check_is_not_counted(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    limiter = RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test")
    waiting = asyncio.create_task(limiter.acquire(POLICY, "client"))
    cancelled = asyncio.create_task(limiter.acquire(POLICY, "client"))
    # Both checks wait for the script run, which has not started yet.
    await asyncio.sleep(0)
    cancelled.cancel()

    first = await waiting
    after = await limiter.acquire(POLICY, "client")
    await limiter.close()

    assert cancelled.cancelled()
    assert first.remaining == 9
    assert after.remaining == 8


async def test_waiting_checks_fail_open(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    limiter = RateLimiter(
        storage_uri(private_redis.url), key_prefix="zapora-test", error_cooldown_seconds=0.0
    )
    await limiter.acquire(POLICY, "client")
    await private_redis.stop()

    decisions = await asyncio.wait_for(
        asyncio.gather(*(limiter.acquire(POLICY, "client") for _ in range(20))), timeout=5
    )
    await limiter.close()

    assert [(decision.allowed, decision.result) for decision in decisions] == [(True, "error")] * 20


async def test_checks_survive_script_flush(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    limiter = RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test")
    first = await limiter.acquire(POLICY, "client")
    client = redis.Redis.from_url(private_redis.url)
    await client.script_flush()
    await client.aclose()

    second = await limiter.acquire(POLICY, "client")
    third = await limiter.acquire(POLICY, "client")
    await limiter.close()

    assert [(d.result, d.remaining) for d in (first, second, third)] == [
        ("allowed", 9),
        ("allowed", 8),
        ("allowed", 7),
    ]


async def test_checks_resume_after_restart(private_redis: PrivateRedis) -> None:
    await private_redis.start()
    limiter = RateLimiter(
        storage_uri(private_redis.url), key_prefix="zapora-test", error_cooldown_seconds=0.0
    )
    before = await limiter.acquire(POLICY, "client")
    await private_redis.stop()
    during = await limiter.acquire(POLICY, "client")
    await private_redis.start()

    after = await limiter.acquire(POLICY, "client")
    await limiter.close()

    assert before.result == "allowed"
    assert during.result == "error"
    assert after.result == "allowed"
    # The restarted server kept no counts, and it has no script cached yet either.
    assert after.remaining == 9
