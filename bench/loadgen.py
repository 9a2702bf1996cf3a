"""Run wrk and pgbench and read their throughput and latency percentiles."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.config import BENCH_DIR, BenchConfig

LUA_DIR = BENCH_DIR / "lua"
SQL_DIR = BENCH_DIR / "sql"
RESULT_PREFIX = "BENCH_JSON "


@dataclass(frozen=True)
class Sample:
    """One timed run: completed requests (or transactions) per second and latencies in ms.

    A run that measures throughput alone, such as the bot working through a backlog, has no
    latencies.
    """

    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int
    # CPU time the server under test spent per request, when the scenario measured it.
    server_cpu_ms: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": _rounded(self.p50_ms, 2),
            "p95_ms": _rounded(self.p95_ms, 2),
            "p99_ms": _rounded(self.p99_ms, 2),
            "requests": self.requests,
            "errors": self.errors,
            "server_cpu_ms": _rounded(self.server_cpu_ms, 3),
        }

    def describe_latency(self) -> str:
        if self.p50_ms is None or self.p95_ms is None or self.p99_ms is None:
            return "no latencies"
        return f"p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        hint = "apt-get install -y wrk" if name == "wrk" else "install the PostgreSQL client"
        raise SystemExit(f"{name} not found on PATH: {hint}")
    return path


def run_wrk(
    config: BenchConfig,
    url: str,
    script: str,
    *,
    seconds: int,
    env: Mapping[str, str] | None = None,
) -> Sample:
    """Run wrk with ``lua/<script>`` plus the shared report function and parse its result."""
    source = "\n".join(
        (LUA_DIR / name).read_text() for name in ("clients.lua", script, "report.lua")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(source)
        script_path = handle.name
    try:
        completed = subprocess.run(  # noqa: S603 - fixed command line
            [
                require_tool("wrk"),
                f"-t{config.load_threads}",
                f"-c{config.connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script_path,
                url,
            ],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script_path)
    line = next(
        (text for text in completed.stdout.splitlines() if text.startswith(RESULT_PREFIX)), None
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix(RESULT_PREFIX))
    errors = sum(
        int(data[key])
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return Sample(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=int(data["requests"]),
        errors=errors,
    )


def run_pgbench(
    config: BenchConfig, script: str, *, seconds: int, variables: Mapping[str, str]
) -> Sample:
    """Run ``sql/<script>`` with pgbench (prepared statements) and read its per-transaction log."""
    with tempfile.TemporaryDirectory(prefix="zapora-pgbench-") as log_dir:
        command = [
            require_tool("pgbench"),
            "-h",
            config.pg_host,
            "-p",
            str(config.pg_port),
            "-U",
            config.pg_user,
            "-n",
            "-M",
            "prepared",
            "-c",
            str(config.connections),
            "-j",
            str(config.load_threads),
            "-T",
            str(seconds),
            "-l",
            "--log-prefix",
            str(Path(log_dir) / "tx"),
            "-f",
            str(SQL_DIR / script),
        ]
        for name, value in variables.items():
            command += ["-D", f"{name}={value}"]
        command.append(config.database)
        completed = subprocess.run(  # noqa: S603 - fixed command line
            command,
            env={**os.environ, "PGOPTIONS": "-c synchronous_commit=on"},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{completed.stdout}\n{completed.stderr}")
        latencies = sorted(_read_latencies(Path(log_dir)))
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", completed.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", completed.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{completed.stdout}")
    return Sample(
        rps=float(match.group(1)),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        requests=len(latencies),
        errors=int(failed.group(1)) if failed else 0,
    )


def _read_latencies(log_dir: Path) -> list[float]:
    """Return every logged transaction's latency in ms (the third column is microseconds)."""
    latencies: list[float] = []
    for path in log_dir.glob("tx*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
    return latencies
