"""A local stand-in for the WhatsApp Graph API messages endpoint, served over real HTTP.

Make the ``graph_api`` fixture visible by importing it in a ``conftest.py``::

    from tests.graph_api import graph_api  # noqa: F401

and point the settings at it::

    make_settings(
        database_url,
        whatsapp_transport=WhatsAppTransport.CLOUD,
        whatsapp_api_base_url=graph_api.url,
    )

The server runs uvicorn in a background thread on 127.0.0.1 and a free port, so it serves
synchronous and asynchronous tests alike. It records every request in ``requests``. A POST
to ``/{version}/{phone_number_id}/messages`` with a bearer token and a WhatsApp message body
gets a new wamid by default. Scripted replies take precedence, one per request, first in,
first out: ``queue_error`` (a Graph error body), ``queue_reply`` (any status and body) or
``queue_delay`` (a success sent late, to exceed a client timeout).
``close_window(wa_id)`` makes the recipient one whose 24-hour window has closed: any message
to it but a template gets error 131047, as from the real API.
``stop()`` closes the port, so later requests fail with a refused connection.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

GRAPH_VERSION = "v23.0"
OUTSIDE_WINDOW_CODE = 131047
OUTSIDE_WINDOW_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it, with lower-case header names."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    # The wamid the stand-in returned, or None when it returned an error.
    wamid: str | None


@dataclass(frozen=True)
class ScriptedReply:
    """A queued reply: a fixed status and body, or the default reply after a delay."""

    status: int | None = None
    body: Any = None
    delay_seconds: float = 0.0


class GraphApiStandIn:
    """The Graph API send endpoint for tests: records requests and plays scripted replies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque[ScriptedReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._closed_windows: set[str] = set()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._path_pattern = re.compile(rf"^/{re.escape(GRAPH_VERSION)}/([^/]+)/messages$")

    @property
    def url(self) -> str:
        """The base URL to use as ``whatsapp_api_base_url``."""
        return f"http://127.0.0.1:{self.port}/{GRAPH_VERSION}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def callback_data(self) -> list[str]:
        """Return ``biz_opaque_callback_data`` of every request that got a wamid, in order."""
        return [
            request.json["biz_opaque_callback_data"]
            for request in self.requests
            if request.wamid is not None
        ]

    def queue_error(
        self,
        code: int,
        *,
        status: int = 400,
        message: str = "scripted Graph API error",
        details: str = "scripted error details",
    ) -> None:
        """Queue a Graph error body, e.g. ``queue_error(130429)`` for a throughput limit."""
        body = {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details},
                "fbtrace_id": f"trace{uuid.uuid4().hex[:12]}",
            }
        }
        self.queue_reply(status, body)

    def close_window(self, wa_id: str) -> None:
        """Reject every message but a template to ``wa_id`` with error 131047."""
        with self._lock:
            self._closed_windows.add(wa_id)

    def open_window(self, wa_id: str) -> None:
        """Accept any message to ``wa_id`` again, as after the customer writes."""
        with self._lock:
            self._closed_windows.discard(wa_id)

    def queue_reply(self, status: int, body: Any) -> None:
        """Queue a reply with this HTTP status and JSON body (``None`` sends a non-JSON body)."""
        with self._lock:
            self._replies.append(ScriptedReply(status=status, body=body))

    def queue_delay(self, seconds: float) -> None:
        """Queue the default reply, sent only after ``seconds``."""
        with self._lock:
            self._replies.append(ScriptedReply(delay_seconds=seconds))

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and return once the server accepts requests."""
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Graph API stand-in failed to start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Shut the server down and close its port; calling it twice is harmless."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        with self._lock:
            scripted = self._replies.popleft() if self._replies else None
        if scripted is not None and scripted.status is not None:
            self._record(request, payload, wamid=None)
            return _json_response(scripted.status, scripted.body)
        status, body = self._default_reply(request, payload)
        wamid = body["messages"][0]["id"] if status == 200 else None
        self._record(request, payload, wamid=wamid)
        if scripted is not None:
            await asyncio.sleep(scripted.delay_seconds)
        return _json_response(status, body)

    def _default_reply(self, request: Request, payload: Any) -> tuple[int, dict[str, Any]]:
        """Validate the request as the Graph API would and build its reply."""
        if request.method != "POST" or not self._path_pattern.match(request.url.path):
            return 400, _error_body(100, "Unsupported request: unknown path or method")
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
            return 401, _error_body(190, "Invalid OAuth access token")
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            return 400, _error_body(100, "Invalid parameter: messaging_product")
        if not isinstance(payload.get("to"), str) or not payload.get("type"):
            return 400, _error_body(100, "Invalid parameter: to and type are required")
        with self._lock:
            window_closed = payload["to"] in self._closed_windows
        if window_closed and payload["type"] != "template":
            body = _error_body(OUTSIDE_WINDOW_CODE, "Re-engagement message")
            body["error"]["error_data"] = {
                "messaging_product": "whatsapp",
                "details": OUTSIDE_WINDOW_DETAILS,
            }
            return 400, body
        wamid = f"wamid.{uuid.uuid4().hex}"
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
            "messages": [{"id": wamid}],
        }

    def _record(self, request: Request, payload: Any, *, wamid: str | None) -> None:
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            json=payload,
            wamid=wamid,
        )
        with self._lock:
            self._requests.append(recorded)


def _error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


def _json_response(status: int, body: Any) -> Response:
    if body is None:
        return PlainTextResponse("scripted non-JSON body", status_code=status)
    return JSONResponse(content=body, status_code=status)


@pytest.fixture
def graph_api() -> Iterator[GraphApiStandIn]:
    """A running Graph API stand-in, stopped after the test."""
    stand_in = GraphApiStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
