"""Fixtures for the observability tests: metric scrapes and captured log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from zapora.observability.logging import build_formatter


def sample_value(exposition: str, name: str, **labels: str) -> float | None:
    """Return the value of the sample ``name`` whose labels include ``labels``, else None."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def counter(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """Return a counter's current value through ``GET /metrics``; 0 before its first use."""
    return sample_value(await scrape(client), name, **labels) or 0.0


class LogCapture(logging.Handler):
    """Keep every record as the JSON line the production formatter renders, parsed back."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(build_formatter(json=True))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self, name: str) -> list[dict[str, Any]]:
        """Return the parsed lines whose event is ``name``."""
        parsed = [json.loads(line) for line in self.lines]
        return [line for line in parsed if line.get("event") == name]


@pytest.fixture
def log_capture() -> Iterator[LogCapture]:
    capture = LogCapture()
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
