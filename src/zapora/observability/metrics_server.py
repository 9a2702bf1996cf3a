"""A Prometheus endpoint for processes that serve no HTTP API, such as ``zapora worker``.

It runs prometheus-client's HTTP server on a thread and returns the same text as the API's
``GET /metrics`` without the outbox figures, which the API reads from the database. With
``PROMETHEUS_MULTIPROC_DIR`` set it returns the sum over every process that writes into that
folder. So when the worker shares the folder with ``zapora serve``, the API's ``/metrics``
already contains the worker's metrics and a second endpoint would count them twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from zapora.observability.multiprocess import multiprocess_dir

logger = structlog.get_logger(__name__)


@dataclass
class MetricsServer:
    """A running metrics endpoint. ``port`` is the bound port, which the OS picks for port 0."""

    server: WSGIServer
    thread: threading.Thread
    host: str
    port: int

    def stop(self) -> None:
        """Stop accepting scrapes and wait for the server thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        logger.info("metrics.server_stopped", host=self.host, port=self.port)


def start_metrics_server(host: str, port: int) -> MetricsServer:
    """Serve every metric of this process, or of the shared folder, on ``host:port``."""
    directory = multiprocess_dir()
    registry = REGISTRY
    if directory is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    server, thread = start_http_server(port, addr=host, registry=registry)
    bound_port = int(server.server_port)
    logger.info("metrics.server_started", host=host, port=bound_port)
    return MetricsServer(server=server, thread=thread, host=host, port=bound_port)
