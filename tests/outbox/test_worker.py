"""The worker loop in process, its recovery from failures, and the `zapora worker` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.factories import make_store
from tests.graph_api import GraphApiStandIn
from tests.outbox.conftest import ACCESS_TOKEN, CUSTOMER, load, queue_message
from zapora.config import Settings, WhatsAppTransport
from zapora.db import create_engine, create_session_factory
from zapora.migrate import upgrade_to_head
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.worker import Worker

WAIT_SECONDS = 20.0


async def _wait_until_settled(
    factory: async_sessionmaker[AsyncSession], message_id: uuid.UUID
) -> OutboxMessage:
    """Poll the row until it leaves ``pending``, for at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        message = await load(factory, message_id)
        if message.status != OutboxStatus.PENDING.value:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox message {message_id} still pending after {WAIT_SECONDS} s")


async def test_worker_sends_queued_row(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    graph_api: GraphApiStandIn,
) -> None:
    fast = settings.model_copy(update={"worker_poll_seconds": 0.05})
    store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
    message = await queue_message(session, store)
    worker = Worker(fast, session_factory)

    worker.start()
    try:
        sent = await _wait_until_settled(session_factory, message.id)
    finally:
        await asyncio.wait_for(worker.stop(), timeout=WAIT_SECONDS)

    assert sent.status == OutboxStatus.SENT.value
    assert graph_api.callback_data() == [str(message.id)]
    assert sent.graph_message_id == graph_api.requests[0].wamid


async def test_worker_survives_failing_batches(tmp_path: Path, graph_api: GraphApiStandIn) -> None:
    # The worker starts before the schema exists, so every batch fails until the migration.
    url = f"sqlite+aiosqlite:///{tmp_path / 'late-schema.db'}"
    settings = make_settings(
        url,
        whatsapp_transport=WhatsAppTransport.CLOUD,
        whatsapp_api_base_url=graph_api.url,
        worker_poll_seconds=0.02,
    )
    engine = create_engine(url)
    factory = create_session_factory(engine)
    worker = Worker(settings, factory)
    worker.start()
    try:
        await _wait_for_failures(worker, 1)
        await asyncio.to_thread(upgrade_to_head, url)
        async with factory() as session:
            store = await make_store(session, whatsapp_access_token=ACCESS_TOKEN)
            message = await queue_message(session, store)
        sent = await _wait_until_settled(factory, message.id)
    finally:
        await asyncio.wait_for(worker.stop(), timeout=WAIT_SECONDS)
        await engine.dispose()

    assert sent.status == OutboxStatus.SENT.value
    assert graph_api.callback_data() == [str(message.id)]
    assert worker.consecutive_send_failures == 0


async def _wait_for_failures(worker: Worker, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while worker.consecutive_send_failures < count:
        assert time.monotonic() < deadline, f"fewer than {count} failed batches in {WAIT_SECONDS} s"
        await asyncio.sleep(0.01)


async def test_worker_command_stops_on_sigterm(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> None:
    store = await make_store(session)
    message = await queue_message(session, store, to=CUSTOMER)
    log_path = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "ZAPORA_DATABASE_URL": database_url,
        "ZAPORA_ENVIRONMENT": "test",
        "ZAPORA_SECRET_KEY": TEST_SECRET_KEY,
        "ZAPORA_WHATSAPP_TRANSPORT": "log",
        "ZAPORA_WORKER_POLL_SECONDS": "0.05",
        "ZAPORA_LOG_JSON": "true",
    }
    with log_path.open("wb") as log_file:
        # The working folder is empty so that no .env file changes the settings.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from zapora.cli import app; app()",
            "worker",
            cwd=tmp_path,
            env=environment,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            sent = await _wait_until_settled(session_factory, message.id)
            process.send_signal(signal.SIGTERM)
            return_code = await asyncio.wait_for(process.wait(), timeout=WAIT_SECONDS)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    output = log_path.read_text()
    assert return_code == 0, output
    assert sent.status == OutboxStatus.SENT.value
    assert sent.graph_message_id is not None
    assert sent.graph_message_id.startswith("log.")
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "worker.started" in events
    assert "whatsapp.send" in events
    assert "SIGTERM" in [line.get("signal") for line in lines]
    assert "worker.stopped" in events
    assert "*********1234" in output
    assert CUSTOMER not in output
