"""A Redis that goes away: requests pass unlimited, one warning, an error metric."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as redis

from tests.conftest import make_settings
from tests.ratelimit.conftest import (
    TIGHT_LIMITS,
    PrivateRedis,
    client_for,
    decisions,
    running_app,
)
from zapora.ratelimit.limiter import Policy, RateLimiter, RouteClass, storage_uri

STAFF_PATH = "/openapi.json"


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == event
    ]


async def test_requests_pass_while_redis_is_down(
    database_url: str, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    await private_redis.start()
    settings = make_settings(database_url, **TIGHT_LIMITS, redis_url=private_redis.url)
    async with running_app(settings) as app, client_for(app, "203.0.113.70") as client:
        before_failure = await client.get(STAFF_PATH)
        await private_redis.stop()
        default_errors = decisions("default", "error")
        login_errors = decisions("login_account", "error")

        during_failure = [await client.get(STAFF_PATH) for _ in range(6)]
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": "nobody@example.com", "password": "not-the-password"},
        )

    assert before_failure.status_code == 200
    assert before_failure.headers["RateLimit-Remaining"] == "2"
    assert [response.status_code for response in during_failure] == [200] * 6
    assert all("RateLimit-Limit" not in response.headers for response in during_failure)
    assert login.status_code == 401
    assert decisions("default", "error") - default_errors == 6
    assert decisions("login_account", "error") - login_errors == 1
    warnings = _events(caplog, "rate_limit.storage_failed")
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0]["error"]


async def test_limiter_resumes_when_redis_returns(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    await private_redis.start()
    limiter = RateLimiter(
        storage_uri(private_redis.url), key_prefix="zapora-test", error_cooldown_seconds=0.2
    )
    policy = Policy.parse(RouteClass.DEFAULT, "2/minute")

    first = await limiter.acquire(policy, "client")
    await private_redis.stop()
    failed = await limiter.acquire(policy, "client")
    during_cooldown = await limiter.acquire(policy, "client")
    await asyncio.sleep(0.3)
    failed_again = await limiter.acquire(policy, "client")

    await private_redis.start()
    await asyncio.sleep(0.3)
    # The restarted server kept nothing, so the window starts empty.
    resumed = [await limiter.acquire(policy, "client") for _ in range(3)]

    assert (first.result, first.remaining) == ("allowed", 1)
    assert failed.result == "error"
    assert failed.allowed
    assert during_cooldown.result == "error"
    assert failed_again.result == "error"
    assert [decision.result for decision in resumed] == ["allowed", "allowed", "limited"]
    assert [decision.remaining for decision in resumed] == [1, 0, 0]
    assert len(_events(caplog, "rate_limit.storage_failed")) == 1
    assert len(_events(caplog, "rate_limit.storage_recovered")) == 1


async def test_warning_repeats_after_interval(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    await private_redis.start()
    limiter = RateLimiter(
        storage_uri(private_redis.url),
        key_prefix="zapora-test",
        error_cooldown_seconds=0.0,
        warning_interval_seconds=0.3,
    )
    policy = Policy.parse(RouteClass.DEFAULT, "2/minute")
    await private_redis.stop()

    for _ in range(3):
        await limiter.acquire(policy, "client")
    await asyncio.sleep(0.4)
    await limiter.acquire(policy, "client")

    warnings = _events(caplog, "rate_limit.storage_failed")
    assert [warning["failures"] for warning in warnings] == [1, 3]


async def test_account_limit_spans_windows(private_redis: PrivateRedis) -> None:
    """Every window of a policy counts, and the fullest one decides and is reported."""
    await private_redis.start()
    limiter = RateLimiter(storage_uri(private_redis.url), key_prefix="zapora-test")
    policy = Policy.parse(RouteClass.LOGIN_ACCOUNT, "5/minute;2/hour")

    await limiter.add(policy, "account")
    allowed = await limiter.peek(policy, "account")
    await limiter.add(policy, "account")
    limited = await limiter.peek(policy, "account")
    await limiter.clear(policy, "account")
    cleared = await limiter.peek(policy, "account")

    assert (allowed.allowed, allowed.limit, allowed.remaining) == (True, 2, 1)
    assert (limited.allowed, limited.limit, limited.window) == (False, 2, "2 per 1 hour")
    # Both events fell in the current fixed hour: one more fits once that hour has ended
    # and half of the next has passed, when their weighted count is down to one.
    client = redis.Redis.from_url(private_redis.url)
    seconds, _ = await client.time()
    await client.aclose()
    expected = 3600 - seconds % 3600 + 1800
    assert expected - 2 <= limited.reset_seconds <= expected + 1
    assert (cleared.allowed, cleared.remaining) == (True, 2)
