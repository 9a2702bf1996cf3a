"""Fixtures for the rate limit tests: tight limits, both storages and a private Redis.

Every test here runs with counters in process memory and in Redis. The shared Redis is
used with a key prefix unique to the test, and only that prefix's keys are deleted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from tests.catalog.test_cache_support import delete_keys, redis_answers
from tests.conftest import _unavailable, make_settings
from zapora.app import create_app
from zapora.config import Settings

SHARED_REDIS_URL = os.environ.get("ZAPORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Small enough to exhaust in a few requests, and different per class so a test can tell
# which bucket applied from the RateLimit-Limit header.
TIGHT_LIMITS: dict[str, object] = {
    "rate_limit_default": "3/minute",
    "rate_limit_public": "5/minute",
    "rate_limit_login_ip": "4/minute",
    "rate_limit_login_account": "3/minute;6/hour",
    "rate_limit_webhook": "6/minute",
}


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def storage_settings(storage: str) -> AsyncIterator[dict[str, object]]:
    """Settings overrides for the storage: none for memory, a fresh key prefix for Redis."""
    if storage == "memory":
        yield {"redis_url": ""}
        return
    if not await redis_answers(SHARED_REDIS_URL):
        _unavailable(f"Redis at {SHARED_REDIS_URL} is not reachable")
    prefix = f"zapora-test:ratelimit:{uuid.uuid4().hex}"
    yield {"redis_url": SHARED_REDIS_URL, "rate_limit_key_prefix": prefix}
    await delete_keys(SHARED_REDIS_URL, prefix)


@pytest.fixture
def settings(database_url: str, storage_settings: dict[str, object]) -> Settings:
    return make_settings(database_url, **TIGHT_LIMITS, **storage_settings)


def client_for(app: FastAPI, peer: str) -> httpx.AsyncClient:
    """Return a client whose requests arrive from the peer address ``peer``."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class PrivateRedis:
    """A redis-server of this test alone, which the test may stop and start again."""

    executable: str
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.executable,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(100):
            if await redis_answers(self.url):
                return
            await asyncio.sleep(0.05)
        await self.stop()
        pytest.fail(f"redis-server on port {self.port} did not answer within 5 s")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    executable = shutil.which("redis-server")
    if executable is None:
        _unavailable("redis-server is not installed")
    assert executable is not None, "_unavailable skips or fails the test"
    server = PrivateRedis(executable=executable, port=_free_port())
    yield server
    await server.stop()


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Yield another app built from ``settings`` and dispose its engine afterwards."""
    application = create_app(settings)
    try:
        yield application
    finally:
        await application.state.engine.dispose()


def decisions(route_class: str, result: str) -> float:
    """Return the rate limit decision counter of one route class and result."""
    labels = {"route_class": route_class, "result": result}
    value = REGISTRY.get_sample_value("zapora_rate_limit_decisions_total", labels)
    return value or 0.0


def assert_rate_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert "Retry after" in body["detail"]
    retry_after = int(response.headers["Retry-After"])
    # These tests use per-minute windows. After a burst, the sliding window counter in
    # Redis can keep a client waiting up to two periods: the burst's fixed window, then the
    # part of the next one in which its weighted count still fills the limit.
    assert 1 <= retry_after <= 120
    assert body["retry_after"] == retry_after
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(response.headers["RateLimit-Reset"]) <= retry_after
