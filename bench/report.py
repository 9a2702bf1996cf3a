"""Targets, medians and the Markdown and JSON result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR, BenchConfig
from bench.loadgen import Sample

SHARED_MACHINE_NOTE = (
    "The load generator (wrk or pgbench), PostgreSQL, Redis and the servers under test all "
    "share this machine's CPUs, so every figure is lower than a separate load generator "
    "would show and varies with whatever else runs here."
)


@dataclass
class Measurement:
    """Every run of one scenario, summarised by the median of each figure."""

    name: str
    description: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    def median(self, attribute: str) -> float:
        values = [
            float(value)
            for value in (getattr(sample, attribute) for sample in self.samples)
            if value is not None
        ]
        return statistics.median(values) if values else 0.0

    def cell(self, attribute: str) -> str:
        """Format the median as a table cell, or a dash when no run measured it."""
        if all(getattr(sample, attribute) is None for sample in self.samples):
            return "-"
        return f"{self.median(attribute):.2f}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "note": self.note,
            "median": {
                key: None if self.cell(key) == "-" else round(self.median(key), 3)
                for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms")
            },
            "runs": [sample.as_dict() for sample in self.samples],
        }


@dataclass(frozen=True)
class Target:
    """One goal: a figure, its bound and which side of the bound passes."""

    label: str
    value: Callable[[dict[str, Measurement]], float | None]
    bound: float
    higher_is_better: bool
    unit: str

    def evaluate(self, measurements: dict[str, Measurement]) -> dict[str, Any]:
        try:
            value = self.value(measurements)
        except (KeyError, ZeroDivisionError):
            value = None
        if value is None:
            verdict = "NOT RUN"
        elif self.higher_is_better:
            verdict = "PASS" if value >= self.bound else "MISS"
        else:
            verdict = "PASS" if value < self.bound else "MISS"
        return {
            "target": self.label,
            "value": None if value is None else round(value, 3),
            "bound": self.bound,
            "unit": self.unit,
            "verdict": verdict,
        }


def _ratio(numerator: str, denominator: str) -> Callable[[dict[str, Measurement]], float]:
    def compute(measurements: dict[str, Measurement]) -> float:
        return measurements[numerator].median("rps") / measurements[denominator].median("rps")

    return compute


def _figure(name: str, attribute: str) -> Callable[[dict[str, Measurement]], float]:
    def compute(measurements: dict[str, Measurement]) -> float:
        # A scenario that did not run, or did not measure this figure, has no value.
        if not measurements[name].samples or measurements[name].cell(attribute) == "-":
            raise KeyError(name)
        return measurements[name].median(attribute)

    return compute


TARGETS = (
    Target(
        "cached menu read / bare ASGI probe", _ratio("zapora_menu", "probe_menu"), 0.30, True, "x"
    ),
    Target("cached menu read p99", _figure("zapora_menu", "p99_ms"), 10.0, False, "ms"),
    Target(
        "order placement / pgbench probe", _ratio("zapora_order", "pgbench_order"), 0.20, True, "x"
    ),
    Target("order placement p99", _figure("zapora_order", "p99_ms"), 60.0, False, "ms"),
    Target(
        "order placement / reference peer", _ratio("zapora_order", "peer_order"), 2.5, True, "x"
    ),
    Target(
        "webhook ingestion / pgbench probe",
        _ratio("zapora_webhook", "pgbench_webhook"),
        0.10,
        True,
        "x",
    ),
    Target("webhook ingestion p99", _figure("zapora_webhook", "p99_ms"), 20.0, False, "ms"),
    Target("staff order list p95", _figure("zapora_order_list", "p95_ms"), 20.0, False, "ms"),
    Target(
        "outbox: two workers / one worker",
        _ratio("outbox_2_workers", "outbox_1_worker"),
        1.3,
        True,
        "x",
    ),
)

# The limit probe each Zapora path is compared with.
PROBES = {
    "zapora_menu": "probe_menu",
    "zapora_order": "pgbench_order",
    "peer_order": "pgbench_order",
    "zapora_webhook": "pgbench_webhook",
    "outbox_2_workers": "outbox_1_worker",
}


def machine_state() -> dict[str, Any]:
    """Return the CPU count, load averages and Python version at the time of the call."""
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(
    config: BenchConfig,
    measurements: dict[str, Measurement],
    *,
    started: datetime,
    machine_before: dict[str, Any],
    notes: list[str],
) -> Path:
    """Write ``results/<UTC time>.md`` and ``.json`` and copy the Markdown to ``latest.md``."""
    verdicts = [target.evaluate(measurements) for target in TARGETS]
    for name, item in measurements.items():
        failed = sum(sample.errors for sample in item.samples)
        if failed:
            notes.append(
                f"{name}: {failed} requests failed (socket errors or status 400 and above), "
                "so its figures are not comparable; the server logs say why."
            )
    data = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "seconds": config.seconds,
            "warmup_seconds": config.warmup_seconds,
            "runs": config.runs,
            "connections": config.connections,
            "load_threads": config.load_threads,
            "server_workers": config.workers,
            "outbox_messages": config.outbox_messages,
        },
        "machine_before": machine_before,
        "machine_after": machine_state(),
        "shared_machine": SHARED_MACHINE_NOTE,
        "notes": notes,
        "scenarios": {name: item.as_dict() for name, item in measurements.items()},
        "targets": verdicts,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%dT%H-%M-%SZ")
    json_path = RESULTS_DIR / f"{stem}.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    markdown = render_markdown(data, measurements)
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)
    (RESULTS_DIR / "latest.md").write_text(markdown)
    return json_path


def render_markdown(data: dict[str, Any], measurements: dict[str, Measurement]) -> str:
    settings = data["settings"]
    lines = [
        f"# Benchmark {data['started_utc']}",
        "",
        f"{settings['runs']} runs of {settings['seconds']} s per scenario (after "
        f"{settings['warmup_seconds']} s of warm-up), {settings['connections']} connections, "
        f"{settings['server_workers']} server worker processes; figures are the median of "
        "the runs.",
        "",
        f"Machine: {data['machine_before']['cpus']} CPUs, {data['machine_before']['platform']}, "
        f"Python {data['machine_before']['python']}. Load average (1, 5, 15 min) before: "
        f"{data['machine_before']['load_average_1_5_15']}, after: "
        f"{data['machine_after']['load_average_1_5_15']}.",
        "",
        f"**Shared machine.** {data['shared_machine']}",
        "",
        "## Targets",
        "",
        "| target | value | bound | verdict |",
        "| --- | ---: | ---: | --- |",
    ]
    for verdict in data["targets"]:
        value = "-" if verdict["value"] is None else f"{verdict['value']:g} {verdict['unit']}"
        sign = ">=" if verdict["unit"] == "x" else "<"
        bound = f"{sign} {verdict['bound']:g} {verdict['unit']}"
        lines.append(f"| {verdict['target']} | {value} | {bound} | {verdict['verdict']} |")
    lines += [
        "",
        "## Scenarios",
        "",
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | vs probe | server CPU ms/req | errors "
        "| runs (req/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, item in measurements.items():
        probe = PROBES.get(name)
        ratio = "-"
        if probe in measurements and measurements[probe].median("rps"):
            ratio = f"{item.median('rps') / measurements[probe].median('rps'):.2f}"
        runs = ", ".join(f"{sample.rps:.0f}" for sample in item.samples)
        errors = sum(sample.errors for sample in item.samples)
        cpu = item.median("server_cpu_ms")
        lines.append(
            f"| {name} | {item.median('rps'):.0f} | {item.cell('p50_ms')} | "
            f"{item.cell('p95_ms')} | {item.cell('p99_ms')} | {ratio} | "
            f"{f'{cpu:.2f}' if cpu else '-'} | {errors} | {runs} |"
        )
    lines += ["", "## What each scenario is", ""]
    for name, item in measurements.items():
        note = f". {item.note}" if item.note else ""
        lines.append(f"- `{name}`: {item.description}{note}")
    if data["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in data["notes"]]
    return "\n".join(lines) + "\n"
