"""Graceful shutdown of ``zapora serve``: readiness flips, requests in flight finish."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import APP_SECRET
from tests.factories import make_store
from tests.whatsapp.payloads import WEBHOOK_PATH, dumps, envelope, sign, text_message

ZAPORA = str(Path(sys.executable).parent / "zapora")
WAIT_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``zapora serve`` in a subprocess, with JSON logs written to a file."""

    def __init__(self, database_url: str, folder: Path, **variables: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        environment = {
            **os.environ,
            "ZAPORA_DATABASE_URL": database_url,
            "ZAPORA_WHATSAPP_APP_SECRET": APP_SECRET,
            "ZAPORA_RUN_WORKER_IN_PROCESS": "true",
            "ZAPORA_LOG_JSON": "true",
            **variables,
        }
        with self.log_path.open("w") as log:
            # The working folder is empty so that no .env file changes the settings.
            self.process = subprocess.Popen(  # noqa: S603
                [ZAPORA, "serve", "--port", str(self.port)],
                env=environment,
                cwd=folder,
                stdout=log,
                stderr=log,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "server not ready:\n" + self.log_path.read_text()
            time.sleep(0.1)

    def wait_exit(self) -> int:
        try:
            return self.process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError("server did not exit:\n" + self.log_path.read_text()) from None

    def events(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT_SECONDS)


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "server"
    folder.mkdir()
    return folder


@pytest.fixture
def delayed_server(database_url: str, server_folder: Path, app: object) -> Iterator[Server]:
    server = Server(database_url, server_folder, ZAPORA_SHUTDOWN_DELAY_SECONDS="2")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_readiness_flips_before_exit(delayed_server: Server) -> None:
    server = delayed_server
    served = httpx.get(f"{server.url}/api/v1/stores", timeout=5)
    assert served.status_code == 401

    server.process.send_signal(signal.SIGTERM)
    ready = httpx.get(f"{server.url}/health/ready", timeout=5)
    live = httpx.get(f"{server.url}/health/live", timeout=5)
    return_code = server.wait_exit()

    assert ready.status_code == 503
    assert ready.json()["failing"] == ["shutdown"]
    assert ready.json()["checks"]["shutdown"] == "shutting down: received SIGTERM"
    assert live.status_code == 200
    # Uvicorn raises the signal again once it has shut down, so the exit reports it.
    assert return_code == -signal.SIGTERM, server.log_path.read_text()
    names = [line["event"] for line in server.events()]
    assert "shutdown.delayed" in names
    assert names.index("worker.stopped") < names.index("app.stopped")
    [access] = [
        line
        for line in server.events()
        if line["event"] == "http.request" and line["route"] == "/api/v1/stores"
    ]
    assert access["status"] == 401
    assert access["method"] == "GET"


async def test_request_in_flight_finishes(
    database_url: str, server_folder: Path, session: AsyncSession
) -> None:
    store = await make_store(session)
    await session.commit()
    body = dumps(envelope(store.whatsapp_phone_number_id, messages=[text_message("oi")]))
    half = len(body) // 2
    first_half_sent = threading.Event()
    release = threading.Event()
    result: dict[str, Any] = {}

    def chunks() -> Iterator[bytes]:
        yield body[:half]
        first_half_sent.set()
        release.wait(WAIT_SECONDS)
        yield body[half:]

    server = Server(database_url, server_folder)
    try:
        server.wait_ready()

        def post() -> None:
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
            try:
                result["response"] = httpx.post(
                    f"{server.url}{WEBHOOK_PATH}", content=chunks(), headers=headers, timeout=30
                )
            except httpx.HTTPError as exc:
                result["error"] = exc

        sender = threading.Thread(target=post)
        sender.start()
        assert first_half_sent.wait(WAIT_SECONDS)
        await asyncio.sleep(0.2)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        refused = _connection_refused(server.url)
        release.set()
        sender.join(WAIT_SECONDS)
        server.wait_exit()
    finally:
        release.set()
        server.stop()

    assert "error" not in result, result.get("error")
    response = result["response"]
    assert response.status_code == 200, response.text
    assert response.json()["messages_stored"] == 1
    assert refused
    names = [line["event"] for line in server.events()]
    assert "app.stopped" in names


def _connection_refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/health/live", timeout=2)
    except httpx.ConnectError:
        return True
    return False
