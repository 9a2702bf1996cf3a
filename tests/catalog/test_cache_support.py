"""Helpers for the menu cache tests: Redis servers, settings per backend and metric reads."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, NoReturn

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from prometheus_client import REGISTRY
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REQUIRE_SERVICES, make_settings
from tests.sql_log import statements_run
from zapora.app import create_app
from zapora.config import Settings

SHARED_REDIS_URL = os.environ.get("ZAPORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_BACKENDS = ["memory", "redis"]


def unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ZAPORA_TEST_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


async def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def delete_keys(url: str, prefix: str) -> None:
    """Delete this test's keys, and only them, from a shared Redis."""
    client = redis.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
    finally:
        await client.aclose()


def cache_settings(database_url: str, redis_url: str = "", **overrides: Any) -> Settings:
    """Return settings with their own key prefix and rate limits off, so Redis holds cache keys."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "cache_key_prefix": f"zapora-test:{uuid.uuid4().hex}",
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@asynccontextmanager
async def cache_settings_for(backend: str, database_url: str) -> AsyncIterator[Settings]:
    """Yield settings for the ``memory`` or ``redis`` cache backend, then delete Redis keys."""
    if backend == "memory":
        yield cache_settings(database_url)
        return
    if not await redis_answers(SHARED_REDIS_URL):
        unavailable(f"Redis at {SHARED_REDIS_URL} is not reachable")
    settings = cache_settings(database_url, SHARED_REDIS_URL)
    try:
        yield settings
    finally:
        await delete_keys(SHARED_REDIS_URL, settings.cache_key_prefix)


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Serve one more application instance on the same database and cache backend."""
    application = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        await application.state.menu_cache.close()
        await application.state.engine.dispose()


async def close_app(app: FastAPI) -> None:
    await app.state.menu_cache.close()


def metric(cache: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "zapora_cache_requests_total", {"cache": cache, "result": result}
    )
    return value or 0.0


@contextmanager
def statements_with(engine: AsyncEngine, fragment: str) -> Iterator[list[str]]:
    """Collect the SQL statements that contain ``fragment`` while the block runs."""
    matching: list[str] = []
    with statements_run(engine) as statements:
        yield matching
        matching.extend(statement for statement in statements if fragment in statement)


def menu_queries(engine: AsyncEngine) -> AbstractContextManager[list[str]]:
    """Collect the SQL statements that load a menu's categories while the block runs."""
    return statements_with(engine, "FROM categories")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of one test alone, which the test may kill and start again."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220, S603
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if await redis_answers(self.url):
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not answer within 5 s")

    @classmethod
    def create(cls) -> PrivateRedis:
        executable = shutil.which("redis-server")
        if executable is None:
            unavailable("redis-server is not installed")
        return cls(executable)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
