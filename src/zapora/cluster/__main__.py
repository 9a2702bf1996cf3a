"""``python -m zapora.cluster``: run a local cluster in the foreground until Ctrl+C."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import structlog
import typer

from zapora.cluster.processes import ClusterError
from zapora.cluster.runner import (
    DEFAULT_POSTGRES_ADMIN_URL,
    DEFAULT_REDIS_URL,
    Cluster,
    ClusterConfig,
)
from zapora.demo import DEMO_GRAPH_PORT, DEMO_MANAGER_EMAIL, DEMO_MANAGER_PASSWORD
from zapora.observability.logging import configure_logging

logger = structlog.get_logger(__name__)
WATCH_SECONDS = 1.0

app = typer.Typer(add_completion=False)


@app.command()
def run(
    port: Annotated[
        int, typer.Option(help="Port of nginx on 127.0.0.1, the cluster's address.")
    ] = (8080),
    replicas: Annotated[int, typer.Option(min=1, help="Number of zapora serve processes.")] = 3,
    workers: Annotated[int, typer.Option(min=1, help="Number of zapora worker processes.")] = 2,
    database: Annotated[
        str, typer.Option(help="PostgreSQL database of the cluster, also its Redis key prefix.")
    ] = "zapora_cluster",
    fresh: Annotated[
        bool, typer.Option(help="Drop and create the database before starting.")
    ] = False,
    graph: Annotated[
        bool,
        typer.Option(
            help="Run the Graph API stand-in that records sends. With --no-graph, run "
            "zapora chat --graph-port to receive them instead."
        ),
    ] = True,
    graph_port: Annotated[
        int, typer.Option(help="Port the workers send to. 0 picks a free one for the stand-in.")
    ] = 0,
    postgres: Annotated[
        str, typer.Option(help="Admin URL of PostgreSQL, used to create the database.")
    ] = DEFAULT_POSTGRES_ADMIN_URL,
    redis: Annotated[str, typer.Option(help="Redis URL shared by every process.")] = (
        DEFAULT_REDIS_URL
    ),
    run_dir: Annotated[
        Path, typer.Option(help="Folder for logs, metrics files and the nginx config.")
    ] = Path(".zapora/cluster"),
) -> None:
    """Run API replicas and workers behind nginx on 127.0.0.1 until Ctrl+C, then stop them."""
    configure_logging(level="INFO", json=False)
    if not graph and graph_port == 0:
        graph_port = DEMO_GRAPH_PORT
    config = ClusterConfig(
        run_dir=run_dir,
        name=database,
        port=port,
        replicas=replicas,
        workers=workers,
        graph=graph,
        graph_port=graph_port,
        postgres_admin_url=postgres,
        redis_url=redis,
        fresh_database=fresh,
    )
    # SIGTERM stops the cluster the way Ctrl+C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        cluster = Cluster(config)
        cluster.start()
    except ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None
    typer.echo(_summary(cluster))
    try:
        _watch(cluster)
    except KeyboardInterrupt:
        typer.echo("stopping the cluster")
    finally:
        # A second Ctrl+C must not leave processes behind half-way through the stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        codes = cluster.stop()
    typer.echo("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))


def _watch(cluster: Cluster) -> None:
    """Log each process that exits on its own, once, and keep the others running."""
    reported: set[tuple[str, int | None]] = set()
    while True:
        for name, code in cluster.exited().items():
            process = cluster.process(name)
            key = (name, process.pid)
            if key not in reported:
                reported.add(key)
                logger.error(
                    "cluster.process_exited",
                    process=name,
                    exit_code=code,
                    log=str(process.log_path),
                )
        time.sleep(WATCH_SECONDS)


def _summary(cluster: Cluster) -> str:
    lines = [f"cluster ready at {cluster.url} (nginx), processes:"]
    for name, process in cluster.processes.items():
        port = f" port {process.port}" if process.port else ""
        lines.append(f"  {name:<10} pid {process.pid}{port}  log {process.log_path}")
    lines += [
        f"metrics of every process: {cluster.url}/metrics",
        f"log in at {cluster.url}/api/v1/auth/login as {DEMO_MANAGER_EMAIL}, "
        f"password {DEMO_MANAGER_PASSWORD}",
    ]
    if cluster.config.graph:
        lines.append(f"messages the workers send are recorded in {cluster.graph_record_path}")
    else:
        lines.append(
            f"chat with the bot: .venv/bin/zapora chat --url {cluster.url} "
            f"--graph-port {cluster.graph_port}"
        )
    lines.append("press Ctrl+C to stop every process")
    return "\n".join(lines)


if __name__ == "__main__":
    app()
