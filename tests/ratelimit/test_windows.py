"""How the limiter counts: exact limits, sliding windows, several windows, the reply's figures.

Every test runs with counters in process memory and in Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from zapora.ratelimit.limiter import Policy, RateLimiter, RouteClass, storage_uri


@pytest.fixture
async def limiter(storage_settings: dict[str, object]) -> AsyncIterator[RateLimiter]:
    redis_url = str(storage_settings["redis_url"])
    prefix = str(storage_settings.get("rate_limit_key_prefix", "zapora-test"))
    value = RateLimiter(storage_uri(redis_url), key_prefix=prefix)
    yield value
    await value.close()


async def _start_of_second(after: float = 0.02) -> None:
    """Sleep until ``after`` seconds past the next whole second of the clock."""
    now = time.time()
    await asyncio.sleep(1 - now % 1 + after)


async def test_limit_is_reached_exactly(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.DEFAULT, "3/minute")

    decisions = [await limiter.acquire(policy, "client") for _ in range(5)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False, False]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0, 0]
    assert {decision.limit for decision in decisions} == {3}
    assert all(0 <= decision.reset_seconds <= 60 for decision in decisions[:3])
    assert all(1 <= decision.reset_seconds <= 120 for decision in decisions[3:])
    assert decisions[3].window == "3 per 1 minute"


async def test_rejected_requests_not_counted(limiter: RateLimiter) -> None:
    """A client that keeps knocking does not push its own limit further away."""
    policy = Policy.parse(RouteClass.DEFAULT, "2/minute;3/hour")
    for _ in range(2):
        await limiter.acquire(policy, "client")
    rejected = [await limiter.acquire(policy, "client") for _ in range(4)]
    await limiter.clear(policy, "client")
    hour_only = await limiter.peek(Policy.parse(RouteClass.DEFAULT, "3/hour"), "client")

    assert [decision.allowed for decision in rejected] == [False] * 4
    assert (hour_only.allowed, hour_only.remaining) == (True, 3)


async def test_keys_count_apart(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.DEFAULT, "1/minute")
    first = await limiter.acquire(policy, "one")
    second = await limiter.acquire(policy, "two")
    again = await limiter.acquire(policy, "one")
    other_class = await limiter.acquire(Policy.parse(RouteClass.PUBLIC, "1/minute"), "one")

    assert (first.allowed, second.allowed, again.allowed, other_class.allowed) == (
        True,
        True,
        False,
        True,
    )


async def test_window_slides(limiter: RateLimiter) -> None:
    """Requests late in one second still count early in the next one."""
    policy = Policy.parse(RouteClass.DEFAULT, "2/second")
    await _start_of_second(0.5)
    burst = [await limiter.acquire(policy, "client") for _ in range(3)]
    await _start_of_second(0.1)
    early = await limiter.acquire(policy, "client")
    await _start_of_second(0.7)
    late = await limiter.acquire(policy, "client")

    assert [decision.allowed for decision in burst] == [True, True, False]
    # A fixed window would have started again from zero here.
    assert not early.allowed
    assert late.allowed


async def test_tightest_window_is_reported(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.LOGIN_ACCOUNT, "5/minute;3/hour")

    decisions = [await limiter.acquire(policy, "account") for _ in range(4)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert [decision.limit for decision in decisions] == [3, 3, 3, 3]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0]
    assert decisions[3].window == "3 per 1 hour"
    # The rejected request needs the hour window to free a slot, not the minute window.
    assert decisions[3].reset_seconds > 60


async def test_every_window_must_have_room(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.LOGIN_ACCOUNT, "2/minute;10/hour")

    decisions = [await limiter.acquire(policy, "account") for _ in range(3)]
    peeked = await limiter.peek(policy, "account")

    assert [decision.allowed for decision in decisions] == [True, True, False]
    assert (decisions[2].limit, decisions[2].window) == (2, "2 per 1 minute")
    assert (peeked.allowed, peeked.limit, peeked.remaining) == (False, 2, 0)


async def test_longest_wait_of_full_windows(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.PUBLIC, "3/second;6/minute")
    await _start_of_second()
    first = [await limiter.acquire(policy, "client") for _ in range(3)]
    # Two seconds on, the first second no longer weighs on the sliding second window.
    await asyncio.sleep(1)
    await _start_of_second()
    second = [await limiter.acquire(policy, "client") for _ in range(3)]

    # Both windows are full now: the minute window frees a slot long after the second one.
    rejected = await limiter.acquire(policy, "client")

    assert all(decision.allowed for decision in first + second)
    assert rejected.allowed is False
    assert rejected.window == "6 per 1 minute"
    assert rejected.reset_seconds > 2


async def test_add_counts_without_deciding(limiter: RateLimiter) -> None:
    policy = Policy.parse(RouteClass.LOGIN_ACCOUNT, "2/minute")
    for _ in range(3):
        await limiter.add(policy, "account")
    peeked = await limiter.peek(policy, "account")
    await limiter.clear(policy, "account")
    cleared = await limiter.peek(policy, "account")

    assert (peeked.allowed, peeked.remaining) == (False, 0)
    assert (cleared.allowed, cleared.remaining) == (True, 2)


async def test_policies_of_one_class_apart(limiter: RateLimiter) -> None:
    """Two policies of the same route class each apply their own limit."""
    strict = Policy.parse(RouteClass.DEFAULT, "1/minute")
    loose = Policy.parse(RouteClass.DEFAULT, "3/minute")
    await limiter.acquire(strict, "strict-client")

    decisions = [await limiter.acquire(loose, "loose-client") for _ in range(3)]

    assert [decision.allowed for decision in decisions] == [True, True, True]
    assert [decision.limit for decision in decisions] == [3, 3, 3]
