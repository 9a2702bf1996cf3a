"""Liveness and readiness probes against real databases and a real Redis."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis
from fastapi import FastAPI

from tests.conftest import _admin_execute, _postgres_url, _unavailable, make_settings
from zapora.app import create_app
from zapora.config import Settings
from zapora.migrate import upgrade_to_head

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        await application.state.engine.dispose()


async def test_live_answers_without_dependencies(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'zapora.db'}")
    async with serve(settings) as (_, http):
        response = await http.get("/health/live")
        legacy = await http.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert legacy.status_code == 200


async def test_ready_when_dependencies_pass(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "redis": "not configured",
            "migrations": "ok",
            "shutdown": "ok",
        },
    }


async def test_not_ready_when_database_unreachable(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'zapora.db'}"
    else:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/zapora"
    async with serve(make_settings(url)) as (_, http):
        response = await http.get("/health/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["migrations"].startswith("not checked")


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A reachable database on which no migration has run."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"zapora_empty_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        _unavailable(f"PostgreSQL is not reachable: {exc}")
    try:
        yield _postgres_url(name)
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_not_ready_until_migrated(empty_database_url: str) -> None:
    async def probe() -> httpx.Response:
        async with serve(make_settings(empty_database_url)) as (_, http):
            return await http.get("/health/ready")

    behind = asyncio.run(probe())
    upgrade_to_head(empty_database_url)
    migrated = asyncio.run(probe())

    assert behind.status_code == 503
    assert behind.json()["failing"] == ["migrations"]
    assert "run 'zapora migrate'" in behind.json()["checks"]["migrations"]
    assert behind.json()["checks"]["database"] == "ok"
    assert migrated.status_code == 200, migrated.text


async def test_not_ready_while_shutting_down(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.shutdown.begin("received SIGTERM")

    ready = await client.get("/health/ready")
    live = await client.get("/health/live")

    assert ready.status_code == 503
    assert ready.json()["failing"] == ["shutdown"]
    assert ready.json()["checks"]["shutdown"] == "shutting down: received SIGTERM"
    assert live.status_code == 200


async def test_ready_with_shared_redis(database_url: str) -> None:
    try:
        redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {SHARED_REDIS_URL} is not reachable: {exc}")
    async with serve(make_settings(database_url, redis_url=SHARED_REDIS_URL)) as (_, http):
        response = await http.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json()["checks"]["redis"] == "ok"


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of this test alone, so the test may stop it."""
    executable = shutil.which("redis-server")
    if executable is None:
        _unavailable("redis-server is not installed")
        raise AssertionError("unreachable")
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            executable,
            "--port",
            str(port),
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
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
            break
        except redis.RedisError:
            assert process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not start in 10 s"
            time.sleep(0.05)
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def test_not_ready_when_redis_stops(
    database_url: str, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, url = own_redis
    async with serve(make_settings(database_url, redis_url=url)) as (_, http):
        before = await http.get("/health/ready")
        process.kill()
        process.wait(timeout=10)
        after = await http.get("/health/ready")

    assert before.status_code == 200, before.text
    assert after.status_code == 503
    assert after.json()["failing"] == ["redis"]
    assert after.json()["checks"]["redis"].startswith("unreachable")
