"""The access line written straight to the JSON log stream, and its standard logging twin."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from tests.observability.conftest import LogCapture
from zapora.observability import logging as zapora_logging
from zapora.observability.logging import configure_logging, log_request

PHONE = "5511955551234"


@pytest.fixture
def json_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Configure JSON logs onto a captured stderr; restore the test setup afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_config = structlog.get_config()
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(level="INFO", json=True)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.configure(**saved_config)
        monkeypatch.setattr(zapora_logging, "_json_handler", None)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_access_line_written_as_json(
    client: httpx.AsyncClient, json_stream: io.StringIO
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "direct-1"})
    assert response.status_code == 200

    lines = [line for line in _lines(json_stream) if line.get("event") == "http.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "direct-1"
    assert line["method"] == "GET"
    assert line["route"] == "/health/live"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"
    assert line["logger"] == "zapora.access"
    assert line["timestamp"].endswith("Z")


def test_direct_line_matches_standard_logging(json_stream: io.StringIO) -> None:
    """Both ways of writing the line give the same keys in the same order, masked alike."""
    with structlog.contextvars.bound_contextvars(request_id="same", wa_id=PHONE, api_key="k-1"):
        log_request(method="POST", route="/x/{id}", status=201, duration_ms=1.5)
        structlog.get_logger("zapora.access").info(
            "http.request", method="POST", route="/x/{id}", status=201, duration_ms=1.5
        )

    direct, standard = _lines(json_stream)
    assert PHONE not in json_stream.getvalue()
    assert "k-1" not in json_stream.getvalue()
    direct.pop("timestamp")
    standard.pop("timestamp")
    assert list(direct.items()) == list(standard.items())
    assert direct["wa_id"] == "*********1234"
    assert direct["api_key"] == "[redacted]"


def test_level_above_info_drops_access_line(json_stream: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.WARNING)

    log_request(method="GET", route="/x", status=200, duration_ms=0.1)

    assert json_stream.getvalue() == ""


def test_extra_handler_still_receives_access_line(
    json_stream: io.StringIO, log_capture: LogCapture
) -> None:
    log_request(method="GET", route="/y", status=404, duration_ms=0.2)

    [captured] = log_capture.events("http.request")
    [written] = [line for line in _lines(json_stream) if line.get("event") == "http.request"]
    assert captured["route"] == written["route"] == "/y"
    assert captured["status"] == written["status"] == 404
