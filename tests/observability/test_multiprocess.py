"""Metrics of several processes that share one PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.observability.conftest import sample_value, scrape
from zapora.app import create_app
from zapora.migrate import upgrade_to_head
from zapora.observability.metrics import MULTIPROCESS_DIR_VARIABLE
from zapora.observability.multiprocess import remove_ended_processes

START_TIMEOUT_SECONDS = 30.0

# Serves `requests` requests, then adds `in_flight` to the in-flight gauge until stdin closes.
_WRITER = """
import asyncio, sys
import httpx
from zapora.app import create_app
from zapora.config import Settings
from zapora.observability.metrics import HTTP_IN_FLIGHT

async def serve(url, requests):
    app = create_app(Settings(database_url=url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for _ in range(requests):
            assert (await http.get("/health/live")).status_code == 200
    await app.state.engine.dispose()

asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
HTTP_IN_FLIGHT.inc(int(sys.argv[3]))
open(sys.argv[4], "w").close()
sys.stdin.readline()
"""


class Writer:
    def __init__(
        self, database_url: str, directory: Path, name: str, requests: int, in_flight: int
    ) -> None:
        self.ready_path = directory.parent / f"{name}.ready"
        self.log_path = directory.parent / f"{name}.log"
        environment = {**os.environ, MULTIPROCESS_DIR_VARIABLE: str(directory)}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-c",
                    _WRITER,
                    database_url,
                    str(requests),
                    str(in_flight),
                    str(self.ready_path),
                ],
                env=environment,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.ready_path.exists():
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, f"writer not ready in {START_TIMEOUT_SECONDS} s"
            time.sleep(0.05)

    def end(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=START_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'zapora.db'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
def writers(sqlite_database: str, tmp_path: Path) -> Iterator[tuple[Path, Writer, Writer]]:
    # Not created yet: importing the metrics creates it.
    directory = tmp_path / "metrics"
    first = Writer(sqlite_database, directory, "first", requests=3, in_flight=1)
    second = Writer(sqlite_database, directory, "second", requests=4, in_flight=2)
    try:
        first.wait_ready()
        second.wait_ready()
        yield directory, first, second
    finally:
        first.end()
        second.end()


async def test_metrics_summed_over_processes(
    writers: tuple[Path, Writer, Writer], sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, _first, second = writers
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, str(directory))
    application = create_app(make_settings(sqlite_database))
    transport = httpx.ASGITransport(app=application)
    labels = {"route": "/health/live", "method": "GET", "status": "200"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            both_running = await scrape(http)
            second.end()
            # A starting process removes the live gauges of processes that have ended.
            assert remove_ended_processes() == [second.process.pid]
            one_ended = await scrape(http)
    finally:
        await application.state.engine.dispose()

    assert sample_value(both_running, "zapora_http_requests_total", **labels) == 7
    assert sample_value(both_running, "zapora_http_requests_in_flight") == 3
    # Counters of an ended process stay, so totals never go down.
    assert sample_value(one_ended, "zapora_http_requests_total", **labels) == 7
    assert sample_value(one_ended, "zapora_http_requests_in_flight") == 1
    assert sample_value(one_ended, "zapora_outbox_pending_messages") == 0
