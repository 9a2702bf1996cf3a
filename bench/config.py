"""Benchmark settings, read from ``BENCH_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# BENCH_RESULTS_DIR sends a trial run's files elsewhere, leaving the recorded results as they are.
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCH_DIR / "results")
LOOPBACK = "127.0.0.1"

# Every scenario, in the order they run. BENCH_ONLY picks a subset by these names.
SCENARIOS = (
    "menu",
    "order",
    "webhook",
    "order_list",
    "outbox",
)


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"invalid {name}={value!r}: use a whole number") from None
    if number < 1:
        raise SystemExit(f"invalid {name}={value!r}: use a number of at least 1")
    return number


def _scenarios() -> tuple[str, ...]:
    value = os.environ.get("BENCH_ONLY", "")
    if not value:
        return SCENARIOS
    chosen = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown BENCH_ONLY scenario {unknown}: use some of {list(SCENARIOS)}")
    return chosen


@dataclass(frozen=True)
class BenchConfig:
    """Settings of one benchmark run: scenarios, durations, connections, database and ports."""

    seconds: int = field(default_factory=lambda: _int("BENCH_SECONDS", 10))
    warmup_seconds: int = field(default_factory=lambda: _int("BENCH_WARMUP_SECONDS", 3))
    runs: int = field(default_factory=lambda: _int("BENCH_RUNS", 3))
    connections: int = field(default_factory=lambda: _int("BENCH_CONNECTIONS", 10))
    load_threads: int = field(default_factory=lambda: _int("BENCH_LOAD_THREADS", 2))
    workers: int = field(default_factory=lambda: _int("BENCH_WORKERS", 2))
    outbox_messages: int = field(default_factory=lambda: _int("BENCH_OUTBOX_MESSAGES", 4000))
    store_orders: int = field(default_factory=lambda: _int("BENCH_STORE_ORDERS", 100_000))
    total_orders: int = field(default_factory=lambda: _int("BENCH_TOTAL_ORDERS", 1_000_000))
    base_port: int = field(default_factory=lambda: _int("BENCH_BASE_PORT", 18_400))
    scenarios: tuple[str, ...] = field(default_factory=_scenarios)
    database: str = field(default_factory=lambda: os.environ.get("BENCH_DATABASE", "zapora_bench"))
    pg_host: str = LOOPBACK
    pg_port: int = field(default_factory=lambda: _int("BENCH_PG_PORT", 5432))
    pg_user: str = field(default_factory=lambda: os.environ.get("BENCH_PG_USER", "postgres"))
    redis_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.database}"

    @property
    def dsn(self) -> str:
        """Return the libpq/asyncpg DSN of the benchmark database."""
        return f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.database}"

    @property
    def zapora_port(self) -> int:
        return self.base_port

    @property
    def probe_port(self) -> int:
        return self.base_port + 1

    @property
    def peer_port(self) -> int:
        return self.base_port + 2

    @property
    def graph_port(self) -> int:
        return self.base_port + 3
