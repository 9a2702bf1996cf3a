"""``make bench``: limit probes, the reference peer and Zapora's own paths, in one go.

Every process binds to 127.0.0.1, and the database is a dedicated one on the local
PostgreSQL. Results go to ``bench/results``; see docs/benchmarks.md for how to read them.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis

from bench import database, outbox_bench, scenarios
from bench.config import LOOPBACK, BenchConfig
from bench.loadgen import require_tool
from bench.processes import VENV_BIN, Server, start, uvicorn_command
from bench.report import SHARED_MACHINE_NOTE, Measurement, machine_state, write_results

# Limits above what one machine can send, so no benchmark request gets a 429. Requests name
# one of 1,000 clients in X-Forwarded-For, so each client's counter counts a small share.
UNLIMITED = "1000000/minute"
REDIS_PREFIX = "zapora-bench"
DEMO_EMAIL = "gerente@demo.example.com"
DEMO_PASSWORD = "demo-manager-password"  # noqa: S105 - the public demo account


def zapora_env(config: BenchConfig, metrics_dir: Path, app_secret: str, key: str) -> dict[str, str]:
    """Return production settings for ``zapora serve`` and ``zapora worker``."""
    return {
        "ZAPORA_ENVIRONMENT": "production",
        "ZAPORA_SECRET_KEY": key,
        "ZAPORA_DATABASE_URL": config.database_url,
        "ZAPORA_REDIS_URL": config.redis_url,
        "ZAPORA_CACHE_KEY_PREFIX": f"{REDIS_PREFIX}:cache",
        "ZAPORA_RATE_LIMIT_KEY_PREFIX": f"{REDIS_PREFIX}:ratelimit",
        "ZAPORA_RATE_LIMIT_DEFAULT": UNLIMITED,
        "ZAPORA_RATE_LIMIT_PUBLIC": UNLIMITED,
        "ZAPORA_RATE_LIMIT_WEBHOOK": UNLIMITED,
        "ZAPORA_RATE_LIMIT_LOGIN_IP": UNLIMITED,
        "ZAPORA_WHATSAPP_APP_SECRET": app_secret,
        "ZAPORA_WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
        "ZAPORA_WHATSAPP_TRANSPORT": "cloud",
        "ZAPORA_WHATSAPP_API_BASE_URL": f"http://{LOOPBACK}:{config.graph_port}",
        "ZAPORA_RUN_WORKER_IN_PROCESS": "false",
        "ZAPORA_TRUSTED_PROXIES": LOOPBACK,
        "ZAPORA_LOG_JSON": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }


def clear_redis_keys(url: str) -> None:
    """Delete the keys earlier benchmark runs left under ``REDIS_PREFIX``, and only those."""
    client = redis.Redis.from_url(url)
    try:
        for name in client.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000):
            client.delete(name)
    finally:
        client.close()


class Bench:
    """One benchmark run: its servers, their settings and the measurements so far."""

    def __init__(self, config: BenchConfig, work_dir: Path) -> None:
        self.config = config
        self.work_dir = work_dir
        self.app_secret = secrets.token_urlsafe(24)
        metrics_dir = work_dir / "metrics"
        metrics_dir.mkdir()
        self.env = zapora_env(config, metrics_dir, self.app_secret, secrets.token_urlsafe(48))
        self.servers: list[Server] = []
        self.measurements: dict[str, Measurement] = {}
        self.notes: list[str] = [
            "Rate limits are on, with every limit raised to "
            f"{UNLIMITED} through ZAPORA_RATE_LIMIT_* so that no request is rejected with 429.",
            "Zapora runs as in production: PostgreSQL, Redis for the menu cache and rate "
            "limits, JSON logs of every request, Prometheus metrics in multiprocess mode.",
        ]

    def start_server(self, name: str, command: list[str], port: int, path: str) -> Server:
        server = start(name, command, self.env, self.work_dir)
        self.servers.append(server)
        server.wait_http(port, path)
        return server

    def stop_server(self, server: Server) -> None:
        server.stop()
        self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(self.servers):
            self.stop_server(server)

    def measure(self, name: str, description: str, run: scenarios.RunFunction) -> None:
        print(f"{name}: {description}", flush=True)
        # Each scenario starts from a vacuumed database, whatever the one before it left.
        asyncio.run(database.vacuum(self.config))
        measurement = Measurement(name, description)
        self.measurements[name] = measurement
        scenarios.repeat(self.config, measurement, run)


def prepare_database(bench: Bench) -> None:
    config = bench.config
    asyncio.run(database.ensure_database(config))
    database.migrate_and_seed_demo(bench.env)
    added, seconds = asyncio.run(database.seed_orders(config))
    if added:
        bench.notes.append(f"Seeded {added} orders with generate_series in {seconds:.0f} s.")
    clear_redis_keys(config.redis_url)
    if not asyncio.run(database.autovacuum_is_on(config)):
        bench.notes.append(
            "This PostgreSQL server runs without autovacuum, so the benchmark vacuums the "
            "database before each scenario."
        )
    else:
        bench.notes.append("The benchmark vacuums the database before each scenario.")


def run_http_scenarios(bench: Bench, zapora: Server, fixture: scenarios.Fixture) -> None:
    config = bench.config
    chosen = config.scenarios
    port = config.zapora_port
    if "menu" in chosen:
        probe = bench.start_server(
            "probe",
            uvicorn_command("bench.probe_app:app", config.probe_port, config.workers),
            config.probe_port,
            "/",
        )
        probe_run = scenarios.with_server_cpu(
            probe, scenarios.http_get(config, config.probe_port, "/")
        )
        bench.measure(
            "probe_menu", "bare ASGI app returning the menu bytes (limit probe)", probe_run
        )
        bench.stop_server(probe)
        menu_run = scenarios.with_server_cpu(
            zapora, scenarios.http_get(config, port, "/api/v1/stores/demo/menu")
        )
        bench.measure("zapora_menu", "GET /api/v1/stores/demo/menu from the cache", menu_run)
    if "order" in chosen:
        bench.measure(
            "pgbench_order",
            "pgbench: the statements of one order placement per transaction (limit probe)",
            scenarios.pgbench_order(config, fixture),
        )
        orders_path = f"/api/v1/stores/{fixture.store_id}/orders"
        bench.measure(
            "zapora_order",
            "POST /api/v1/stores/{id}/orders with an Idempotency-Key, two lines",
            scenarios.with_server_cpu(
                zapora, scenarios.http_order(config, port, orders_path, fixture)
            ),
        )
        peer = bench.start_server(
            "peer",
            uvicorn_command("bench.reference_peer:app", config.peer_port, config.workers),
            config.peer_port,
            "/docs",
        )
        bench.measure(
            "peer_order",
            "reference peer: the same order through a plain FastAPI + ORM route",
            scenarios.with_server_cpu(
                peer,
                scenarios.http_order(
                    config, config.peer_port, f"/stores/{fixture.store_id}/orders", fixture
                ),
            ),
        )
        bench.stop_server(peer)
    if "webhook" in chosen:
        bench.measure(
            "pgbench_webhook",
            "pgbench: the single inbox insert, committed (limit probe)",
            scenarios.pgbench_webhook(config, fixture),
        )
        asyncio.run(scenarios.delete_probe_messages(config))
        # As in production, the API only stores and acknowledges, and `zapora worker` runs
        # the bot on CPUs of its own. Here both would share two CPUs with the load generator
        # and PostgreSQL, so ingestion is measured with no worker running, as the pgbench
        # probe is, and the worker is measured next on the backlog the ingestion left.
        bench.measure(
            "zapora_webhook",
            "POST /webhooks/whatsapp: signed delivery of one text message, unique ids, stored "
            "for the bot; no worker runs meanwhile",
            scenarios.with_server_cpu(zapora, scenarios.http_webhook(config, port, fixture)),
        )
        backlog = asyncio.run(scenarios.pending_bench_messages(config))
        # Its replies go to the log transport: no Graph API stand-in runs here.
        worker = start(
            "bot-worker",
            [str(VENV_BIN / "zapora"), "worker"],
            {**bench.env, "ZAPORA_WHATSAPP_TRANSPORT": "log"},
            bench.work_dir,
        )
        bench.servers.append(worker)
        try:
            outbox_bench.wait_ready([worker])
            bench.measure(
                "zapora_bot",
                "one `zapora worker` answering the stored messages (the bot's replies go to its "
                "log); messages finished per second, the CPU column is the worker's",
                scenarios.with_server_cpu(worker, scenarios.bot_backlog(config, worker)),
            )
        finally:
            worker.stop()
            bench.servers.remove(worker)
        asyncio.run(scenarios.delete_probe_messages(config))
        bench.measurements[
            "zapora_bot"
        ].note = f"The webhook scenario left {backlog} messages; the API stayed up, idle."
    if "order_list" in chosen:
        bench.measure(
            "zapora_order_list",
            f"GET /api/v1/stores/{{id}}/orders?limit=20: a store with {config.store_orders} "
            f"orders among {config.total_orders}",
            scenarios.with_server_cpu(
                zapora,
                scenarios.http_get(
                    config,
                    port,
                    f"/api/v1/stores/{fixture.store_id}/orders?limit=20",
                    fixture.token,
                ),
            ),
        )


def run_outbox(bench: Bench) -> None:
    config = bench.config
    graph = bench.start_server(
        "graph",
        uvicorn_command("bench.graph_stub:app", config.graph_port, 1),
        config.graph_port,
        "/",
    )
    asyncio.run(outbox_bench.clear_queues(config))
    for processes, name in ((1, "outbox_1_worker"), (2, "outbox_2_workers")):
        description = (
            f"{config.outbox_messages} queued messages sent by {processes} `zapora worker` "
            "process(es) to a local Graph API stand-in; latency is queued to sent"
        )
        measurement = Measurement(name, description)
        bench.measurements[name] = measurement
        print(f"{name}: {description}", flush=True)
        for index in range(config.runs):
            sample = outbox_bench.measure_outbox(config, processes, bench.env, bench.work_dir)
            measurement.samples.append(sample)
            print(f"  {name} run {index + 1}/{config.runs}: {sample.rps:.0f} msg/s", flush=True)
    bench.stop_server(graph)


def main() -> int:
    config = BenchConfig()
    require_tool("wrk")
    require_tool("pgbench")
    started = datetime.now(UTC)
    clock = time.monotonic()
    before = machine_state()
    print(SHARED_MACHINE_NOTE, flush=True)
    # Kept after the run: the servers' logs are the first place to look at errors.
    work_dir = Path(tempfile.mkdtemp(prefix="zapora-bench-"))
    print(f"server logs: {work_dir}", flush=True)
    bench = Bench(config, work_dir)
    try:
        prepare_database(bench)
        run_zapora(bench)
    except Exception:
        for server in bench.servers:
            print(f"--- {server.name} log tail ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        bench.stop_all()
    bench.notes.append(f"Total wall time {time.monotonic() - clock:.0f} s.")
    json_path = write_results(
        config, bench.measurements, started=started, machine_before=before, notes=bench.notes
    )
    print((json_path.parent / "latest.md").read_text())
    print(f"results: {json_path} and {json_path.with_suffix('.md')}")
    return 0


def run_zapora(bench: Bench) -> None:
    config = bench.config
    http = {"menu", "order", "webhook", "order_list"} & set(config.scenarios)
    if http:
        command = [
            str(VENV_BIN / "zapora"),
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(config.zapora_port),
            "--workers",
            str(config.workers),
        ]
        zapora = bench.start_server("zapora", command, config.zapora_port, "/health/ready")
        token = scenarios.login(config.zapora_port, DEMO_EMAIL, DEMO_PASSWORD)
        fixture = asyncio.run(scenarios.load_fixture(config, token, bench.app_secret))
        menu = httpx.get(f"http://{LOOPBACK}:{config.zapora_port}/api/v1/stores/demo/menu")
        menu.raise_for_status()
        menu_file = bench.work_dir / "menu.json"
        menu_file.write_bytes(menu.content)
        bench.env["BENCH_MENU_FILE"] = str(menu_file)
        run_http_scenarios(bench, zapora, fixture)
        bench.stop_server(zapora)
    if "outbox" in config.scenarios:
        run_outbox(bench)
