"""Prometheus metrics, defined once and imported where they are observed.

With several processes (uvicorn workers, separate worker processes) set
``PROMETHEUS_MULTIPROC_DIR`` to an empty shared folder: prometheus-client then writes
per-process files that ``GET /metrics`` aggregates.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram

# In multiprocess mode each metric opens a file in this folder when it is defined, so the
# folder has to exist before the definitions below run.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
    os.makedirs(os.environ[MULTIPROCESS_DIR_VARIABLE], exist_ok=True)

HTTP_REQUESTS = Counter(
    "zapora_http_requests_total",
    "HTTP requests handled, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "zapora_http_request_duration_seconds",
    "Time to handle an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge(
    "zapora_http_requests_in_flight",
    "HTTP requests being handled now.",
    multiprocess_mode="livesum",
)

CACHE_REQUESTS = Counter(
    "zapora_cache_requests_total",
    "Cache lookups by cache name and result (hit, miss, error).",
    ["cache", "result"],
)

RATE_LIMIT_DECISIONS = Counter(
    "zapora_rate_limit_decisions_total",
    "Rate limit checks by route class and result (allowed, limited, error).",
    ["route_class", "result"],
)

WEBHOOK_EVENTS = Counter(
    "zapora_whatsapp_webhook_events_total",
    "WhatsApp webhook events received, by kind (message type or status).",
    ["kind"],
)
WHATSAPP_SENDS = Counter(
    "zapora_whatsapp_sends_total",
    "Outbound WhatsApp send attempts by result (sent, retry, failed) and Graph error code.",
    ["result", "error_code"],
)

ORDERS_PLACED = Counter("zapora_orders_placed_total", "Orders placed, by source.", ["source"])
ORDER_TRANSITIONS = Counter(
    "zapora_order_transitions_total", "Order status changes, by new status.", ["status"]
)

AUTH_EVENTS = Counter(
    "zapora_auth_events_total",
    "Authentication events: login, login_failed, refresh, refresh_reuse, logout, password_changed.",
    ["event"],
)

# Moved by pool events of the engines passed to pool_metrics.instrument_pool, so that the
# sum over live processes is the deployment's total.
DB_POOL_IN_USE = Gauge(
    "zapora_db_pool_connections_in_use",
    "Database connections checked out of the pool now.",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "zapora_db_pool_connections_open",
    "Database connections open now, idle in the pool or in use.",
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "zapora_db_pool_capacity",
    "Connections the pools may open: pool size plus overflow. Pools without a bound add 0.",
    multiprocess_mode="livesum",
)

# Read from the database at scrape time, so they are correct with any number of processes.
OUTBOX_PENDING_NAME = "zapora_outbox_pending_messages"
OUTBOX_OLDEST_AGE_NAME = "zapora_outbox_oldest_pending_age_seconds"

# Set by the worker from a periodic database count (see observability/order_gauges.py).
# Every worker replica reports the same figures, so dashboards read them with max().
OPEN_ORDERS = Gauge(
    "zapora_open_orders",
    "Orders in each non-final status across all stores, as of the last refresh.",
    ["status"],
    multiprocess_mode="livemostrecent",
)
OPEN_ORDERS_REFRESHED = Gauge(
    "zapora_open_orders_refreshed_timestamp_seconds",
    "Unix time of the last successful refresh of zapora_open_orders.",
    multiprocess_mode="livemax",
)
