"""Request metrics and the access log, labelled by route template instead of the raw path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import RouteContext, iter_route_contexts
from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapora.observability.logging import log_request
from zapora.observability.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS

# The route label of a request that matches no route, so that random paths cannot create
# new time series.
UNMATCHED_ROUTE = "<unmatched>"
# Any other method is counted as "OTHER" for the same reason.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Maximum count of remembered route templates. Paths with ids in them each take an entry,
# so past this count all are forgotten and matched again.
MAX_REMEMBERED_TEMPLATES = 4096


def route_template(scope: Scope, routes: Sequence[BaseRoute | RouteContext]) -> str:
    """Return the path template of the route that matches the request, prefix included.

    FastAPI keeps an included router's routes without the router's prefix, and
    ``scope["route"]`` is such a route, so the template comes from matching the
    request against the application's route contexts, which carry the full path.
    Pass a copy of the scope taken before routing, because routing into a mounted
    application changes ``root_path``, which matching reads.
    """
    partial: str | None = None
    for context in routes:
        match, _ = context.matches(scope)
        path = getattr(context, "path", None)
        if not isinstance(path, str) or not path:
            continue
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial is None:
            partial = path
    return partial or UNMATCHED_ROUTE


# How long a change of the in-flight count may wait before it is written to the gauge.
IN_FLIGHT_WRITE_SECONDS = 1.0


class InFlightRequests:
    """The count of HTTP requests this process is handling, written to the gauge lazily.

    In multiprocess mode each write of a metric goes to a shared file, and writing the gauge
    on entry and exit took about 5% of a cached menu read's CPU time. A change is written
    within ``IN_FLIGHT_WRITE_SECONDS`` instead, and the metrics route writes the current
    count before it renders, so its own process's figure is exact.
    """

    def __init__(self) -> None:
        self.count = 0
        # The event loop where a write is scheduled, or None when none is.
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def enter(self) -> None:
        self.count += 1
        self._schedule_write()

    def leave(self) -> None:
        self.count -= 1
        self._schedule_write()

    def write(self) -> None:
        self._scheduled_on = None
        HTTP_IN_FLIGHT.set(self.count)

    def _schedule_write(self) -> None:
        loop = asyncio.get_running_loop()
        # A write scheduled on a loop that has since stopped never runs, so it is replaced.
        if self._scheduled_on is loop:
            return
        self._scheduled_on = loop
        loop.call_later(IN_FLIGHT_WRITE_SECONDS, self.write)


IN_FLIGHT = InFlightRequests()


@dataclass(frozen=True, slots=True)
class _Series:
    requests: Counter
    latency: Histogram

    def observe(self, duration: float) -> None:
        self.requests.inc()
        self.latency.observe(duration)


class HttpMetricsMiddleware:
    """Count and time every HTTP request and write one ``http.request`` log line for it.

    The duration ends when the last body chunk is sent, so background tasks that run after
    the response do not count towards it. A request whose handler raises before responding
    is counted with status 500.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._contexts: list[RouteContext] = []
        self._contexts_built_from = -1
        # Matching a request against every route costs more than the rest of this
        # middleware, so each path's template is matched once.
        self._templates: dict[tuple[str, str, str], str] = {}
        # The labelled series of each route, method and status. Looking labels up costs a
        # lock and a few hashes per request, and there are few routes, methods and statuses.
        self._series_cache: dict[tuple[str, str, int], _Series] = {}

    def _series(self, route: str, method: str, status: int) -> _Series:
        key = (route, method, status)
        series = self._series_cache.get(key)
        if series is None:
            if len(self._series_cache) >= MAX_REMEMBERED_TEMPLATES:
                self._series_cache.clear()
            series = _Series(
                HTTP_REQUESTS.labels(route=route, method=method, status=str(status)),
                HTTP_LATENCY.labels(route=route, method=method),
            )
            self._series_cache[key] = series
        return series

    def _route_contexts(self) -> list[RouteContext]:
        # Rebuilt only when routes were added since, which in practice is never after startup.
        if self._contexts_built_from != len(self.routes):
            self._contexts = list(iter_route_contexts(self.routes))
            self._contexts_built_from = len(self.routes)
            self._templates.clear()
        return self._contexts

    def _remembered_template(self, scope: Scope) -> str | None:
        self._route_contexts()
        return self._templates.get((scope["method"], scope.get("root_path", ""), scope["path"]))

    def _route_template(self, scope: Scope) -> str:
        contexts = self._route_contexts()
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        template = self._templates.get(key)
        if template is None:
            template = route_template(scope, contexts)
            if len(self._templates) >= MAX_REMEMBERED_TEMPLATES:
                self._templates.clear()
            self._templates[key] = template
        return template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # A path seen before has its template already, so the scope is copied before routing
        # only for a new path, which is matched once the response is sent.
        route = self._remembered_template(scope)
        scope_before_routing = dict(scope) if route is None else scope
        status = 500
        finished: float | None = None

        async def send_and_observe(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = time.perf_counter()
            await send(message)

        IN_FLIGHT.enter()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            IN_FLIGHT.leave()
            duration = (finished or time.perf_counter()) - started
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            if route is None:
                route = self._route_template(scope_before_routing)
            self._series(route, method, status).observe(duration)
            log_request(
                method=method,
                route=route,
                status=status,
                duration_ms=round(duration * 1000, 2),
            )
