"""A local cluster: API replicas and workers behind nginx, on shared PostgreSQL and Redis."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from zapora.cluster import nginx, services
from zapora.cluster.graph import GraphRecord, read_records
from zapora.cluster.processes import (
    ClusterError,
    ManagedProcess,
    ReadyCheck,
    environment_with,
    free_port,
    http_ok,
    log_contains,
    port_open,
    start_all,
)
from zapora.demo import DEMO_APP_SECRET, DEMO_VERIFY_TOKEN
from zapora.observability.metrics import MULTIPROCESS_DIR_VARIABLE

logger = structlog.get_logger(__name__)

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
SETUP_TIMEOUT_SECONDS = 120.0
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class ClusterConfig:
    """The cluster's layout: process counts, nginx port, shared services and extra settings.

    ``name`` is the PostgreSQL database and the prefix of every Redis key of the cluster.
    ``graph_port`` 0 picks a free port. With ``graph=False`` no stand-in runs and the
    workers send to ``graph_port``, where ``zapora chat --graph-port`` can listen.
    """

    run_dir: Path
    name: str = "zapora_cluster"
    port: int = 8080
    replicas: int = 3
    workers: int = 2
    graph: bool = True
    graph_port: int = 0
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL
    redis_url: str = DEFAULT_REDIS_URL
    fresh_database: bool = False
    drop_database_on_stop: bool = False
    env: Mapping[str, str] = field(default_factory=dict)


def zapora_executable() -> str:
    """Return the ``zapora`` console script installed next to this Python interpreter."""
    candidate = Path(sys.executable).parent / "zapora"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("zapora")
    if found is None:
        raise ClusterError("the zapora command is not installed: run make .venv/.installed")
    return found


class Cluster:
    """Start, inspect and stop the processes of one cluster, each under a unique name.

    Names: ``api-1`` .. ``api-N``, ``worker-1`` .. ``worker-M``, ``graph`` and ``nginx``.
    """

    def __init__(self, config: ClusterConfig) -> None:
        if config.replicas < 1 or config.workers < 1:
            raise ClusterError("a cluster needs at least one API replica and one worker")
        self.config = config
        self.run_dir = config.run_dir.resolve()
        self.graph_port = config.graph_port or free_port()
        self.api_ports = [free_port() for _ in range(config.replicas)]
        self.database_url = services.database_url(config.postgres_admin_url, config.name)
        self.processes: dict[str, ManagedProcess] = {}
        self._zapora = zapora_executable()

    @property
    def url(self) -> str:
        """Return the address clients use: nginx's."""
        return f"http://127.0.0.1:{self.config.port}"

    @property
    def graph_url(self) -> str:
        return f"http://127.0.0.1:{self.graph_port}"

    @property
    def graph_record_path(self) -> Path:
        return self.run_dir / "graph-requests.jsonl"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / "metrics"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    def zapora_env(self) -> dict[str, str]:
        """Return the environment of every zapora process of this cluster."""
        prefix = self.config.name
        overrides = {
            "ZAPORA_DATABASE_URL": self.database_url,
            "ZAPORA_REDIS_URL": self.config.redis_url,
            "ZAPORA_CACHE_KEY_PREFIX": f"{prefix}:cache",
            "ZAPORA_RATE_LIMIT_KEY_PREFIX": f"{prefix}:ratelimit",
            "ZAPORA_TRUSTED_PROXIES": "127.0.0.1",
            "ZAPORA_RUN_WORKER_IN_PROCESS": "false",
            "ZAPORA_WHATSAPP_APP_SECRET": DEMO_APP_SECRET,
            "ZAPORA_WHATSAPP_VERIFY_TOKEN": DEMO_VERIFY_TOKEN,
            "ZAPORA_WHATSAPP_TRANSPORT": "cloud",
            "ZAPORA_WHATSAPP_API_BASE_URL": self.graph_url,
            "ZAPORA_PUBLIC_BASE_URL": self.url,
            "ZAPORA_LOG_JSON": "true",
            MULTIPROCESS_DIR_VARIABLE: str(self.metrics_dir),
        }
        return environment_with({**overrides, **self.config.env})

    def start(self) -> None:
        """Prepare the database, then start every process and wait until each is ready.

        On failure the processes already started are stopped before the error propagates.
        """
        services.check_redis(self.config.redis_url)
        created = services.ensure_database(
            self.config.postgres_admin_url, self.config.name, fresh=self.config.fresh_database
        )
        if self.config.fresh_database:
            # Cached menus and store ids of the dropped database would outlive it in Redis.
            services.delete_redis_keys(self.config.redis_url, f"{self.config.name}:")
        logger.info("cluster.database_ready", database=self.config.name, created=created)
        self._reset_run_dir()
        self._run_setup("migrate")
        self._run_setup("seed-demo", "--url", self.url)
        self._define_processes()
        try:
            first = [p for name, p in self.processes.items() if name != "nginx"]
            start_all(first, START_TIMEOUT_SECONDS)
            start_all([self.processes["nginx"]], START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        logger.info("cluster.started", url=self.url, processes=sorted(self.processes))

    def stop(self) -> dict[str, int | None]:
        """Stop nginx first, then the replicas, the workers and the stand-in, and return exit codes.

        With ``drop_database_on_stop`` the database and the cluster's Redis keys go too.
        """
        order = ["nginx", *self._names("api-"), *self._names("worker-"), "graph"]
        codes = {
            name: self.processes[name].stop(STOP_TIMEOUT_SECONDS)
            for name in order
            if name in self.processes
        }
        if self.config.drop_database_on_stop:
            services.drop_database(self.config.postgres_admin_url, self.config.name)
            services.delete_redis_keys(self.config.redis_url, f"{self.config.name}:")
        logger.info("cluster.stopped", exit_codes=codes)
        return codes

    def process(self, name: str) -> ManagedProcess:
        """Return the process called ``name``, or raise ``KeyError`` listing the valid names."""
        try:
            return self.processes[name]
        except KeyError:
            raise KeyError(
                f"process '{name}' not found, the cluster has {sorted(self.processes)}"
            ) from None

    def kill(self, name: str) -> None:
        """SIGKILL one process and reap it, leaving its work unfinished."""
        self.process(name).kill()
        logger.info("cluster.process_killed", process=name)

    def restart(self, name: str) -> None:
        """Start a stopped or killed process again with the same port and wait until ready."""
        process = self.process(name)
        if process.is_running():
            process.stop(STOP_TIMEOUT_SECONDS)
        process.start()
        process.wait_ready(START_TIMEOUT_SECONDS)
        logger.info("cluster.process_restarted", process=name, pid=process.pid)

    def exited(self) -> dict[str, int | None]:
        """Return the exit code of every process that is not running."""
        return {
            name: process.popen.returncode if process.popen is not None else None
            for name, process in self.processes.items()
            if not process.is_running()
        }

    def graph_records(self) -> list[GraphRecord]:
        """Return every send request the Graph API stand-in has recorded so far."""
        return read_records(self.graph_record_path)

    def _names(self, prefix: str) -> list[str]:
        return [name for name in self.processes if name.startswith(prefix)]

    def _reset_run_dir(self) -> None:
        # Values left by processes of an earlier run would be added to this run's metrics.
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.graph_record_path.unlink(missing_ok=True)

    def _run_setup(self, *arguments: str) -> None:
        log_path = self.log_dir / f"{arguments[0]}.log"
        with log_path.open("wb") as log:
            result = subprocess.run(  # noqa: S603 - fixed zapora subcommands
                [self._zapora, *arguments],
                env=self.zapora_env(),
                cwd=self.run_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=SETUP_TIMEOUT_SECONDS,
                check=False,
            )
        if result.returncode != 0:
            raise ClusterError(
                f"zapora {arguments[0]} failed with code {result.returncode}, see {log_path}:\n"
                + log_path.read_text(errors="replace")[-2000:]
            )

    def _define_processes(self) -> None:
        env = self.zapora_env()
        for index, port in enumerate(self.api_ports, start=1):
            self._add(
                f"api-{index}",
                [self._zapora, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env,
                http_ok(f"http://127.0.0.1:{port}/health/ready"),
                port=port,
            )
        for index in range(1, self.config.workers + 1):
            self._add(
                f"worker-{index}", [self._zapora, "worker"], env, log_contains("worker.started")
            )
        if self.config.graph:
            command = [
                sys.executable,
                "-m",
                "zapora.cluster.graph_process",
                "--port",
                str(self.graph_port),
                "--record",
                str(self.graph_record_path),
            ]
            self._add("graph", command, env, port_open(self.graph_port), port=self.graph_port)
        binary = nginx.find_nginx()
        config = nginx.write_config(
            run_dir=self.run_dir, port=self.config.port, upstream_ports=self.api_ports
        )
        self._add(
            "nginx",
            nginx.nginx_command(binary, run_dir=self.run_dir, config=config),
            environment_with({}),
            http_ok(f"{self.url}/health/live"),
            port=self.config.port,
            # SIGQUIT lets nginx finish the requests in flight, while SIGTERM would drop them.
            stop_signal=signal.SIGQUIT,
        )

    def _add(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        ready: ReadyCheck,
        *,
        port: int | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.processes[name] = ManagedProcess(
            name=name,
            command=command,
            env=env,
            log_path=self.log_dir / f"{name}.log",
            ready=ready,
            cwd=self.run_dir,
            stop_signal=stop_signal,
            port=port,
        )
