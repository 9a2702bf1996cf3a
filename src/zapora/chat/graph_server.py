"""A local stand-in for the Graph API send endpoint, so outbound messages reach the terminal.

Zapora posts to ``{ZAPORA_WHATSAPP_API_BASE_URL}/{phone_number_id}/messages``; this server
responds as the Cloud API does and hands every accepted or rejected message to the chat.
Like the Cloud API it refuses anything but a template (error 131047) to a customer whose
24-hour window has closed, as ``CustomerWindows`` records it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from zapora.chat.limits import INVALID_PARAMETER, GraphRequestError, validate_send_request
from zapora.chat.webhook_client import new_message_id

INVALID_TOKEN = 190
OUTSIDE_WINDOW = 131047
WINDOW_SECONDS = 24 * 3600.0
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SentMessage:
    """A send request the server accepted, with the wamid it returned."""

    phone_number_id: str
    to: str
    body: dict[str, Any]
    message_id: str


@dataclass(frozen=True)
class RejectedMessage:
    """A send request rejected with a Graph API error."""

    phone_number_id: str
    to: str | None
    code: int
    details: str


GraphEvent = SentMessage | RejectedMessage


class CustomerWindows:
    """The customer-service window of each recipient: open for a while after they write.

    A recipient with no recorded message is treated as inside the window, because the
    simulator cannot tell when they last wrote.
    """

    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_seconds = window_seconds
        self._clock = clock
        self._last_message: dict[str, float] = {}
        self._lock = threading.Lock()

    def customer_wrote(self, wa_id: str) -> None:
        """Open the window of ``wa_id`` for ``window_seconds`` from now."""
        with self._lock:
            self._last_message[wa_id] = self._clock()

    def close(self, wa_id: str) -> None:
        """Close the window of ``wa_id`` at once, as if they wrote long ago."""
        with self._lock:
            self._last_message[wa_id] = self._clock() - self.window_seconds

    def is_closed(self, wa_id: str) -> bool:
        with self._lock:
            last = self._last_message.get(wa_id)
        return last is not None and self._clock() - last >= self.window_seconds


def graph_error(status_code: int, code: int, message: str) -> JSONResponse:
    """Return an error in the Graph API's shape."""
    error = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    return JSONResponse({"error": error}, status_code=status_code)


def create_graph_app(
    on_event: Callable[[GraphEvent], None], windows: CustomerWindows | None = None
) -> Starlette:
    """Build the ASGI app; ``on_event`` receives every message it accepts or rejects."""
    windows = windows or CustomerWindows()

    async def send_message(request: Request) -> JSONResponse:
        phone_number_id = str(request.path_params["phone_number_id"])
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return graph_error(401, INVALID_TOKEN, "Invalid OAuth access token.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return graph_error(400, INVALID_PARAMETER, "The request body is not valid JSON.")
        if isinstance(body, dict) and body.get("status") == "read" and "message_id" in body:
            return JSONResponse({"success": True})
        to = body.get("to") if isinstance(body, dict) else None
        try:
            validate_send_request(body)
        except GraphRequestError as exc:
            on_event(RejectedMessage(phone_number_id, to, exc.code, exc.details))
            return graph_error(400, exc.code, f"(#{exc.code}) {exc.details}")
        if body.get("type") != "template" and windows.is_closed(body["to"]):
            details = "more than 24 hours have passed since the customer last replied"
            on_event(RejectedMessage(phone_number_id, to, OUTSIDE_WINDOW, details))
            return graph_error(400, OUTSIDE_WINDOW, f"(#{OUTSIDE_WINDOW}) Re-engagement message")
        message_id = new_message_id()
        on_event(SentMessage(phone_number_id, body["to"], body, message_id))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": message_id}],
            }
        )

    routes = [
        Route("/{phone_number_id}/messages", send_message, methods=["POST"]),
        # Accept the versioned path too, for a base URL that ends at the host.
        Route("/{version}/{phone_number_id}/messages", send_message, methods=["POST"]),
    ]
    return Starlette(routes=routes)


class GraphServer:
    """Serve the Graph app on 127.0.0.1 from a background thread and queue its events.

    The thread keeps uvicorn away from the caller's event loop and signal handlers, so
    Ctrl+C reaches the chat. Events are put on ``events`` in the loop that called ``start``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.events: asyncio.Queue[GraphEvent] = asyncio.Queue()
        self.windows = CustomerWindows()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the port and start serving; raise ``OSError`` when the port is taken."""
        loop = asyncio.get_running_loop()

        def publish(event: GraphEvent) -> None:
            loop.call_soon_threadsafe(self.events.put_nowait, event)

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Lets a restarted chat rebind at once while the old connections sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        config = uvicorn.Config(
            create_graph_app(publish, self.windows),
            log_config=None,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self._thread.start()
        await self._wait_until_started()

    async def _wait_until_started(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the Graph API simulator on port {self.port} failed to start")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(
                    f"the Graph API simulator on port {self.port} did not start within "
                    f"{START_TIMEOUT_SECONDS:.0f} s"
                )
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        await asyncio.to_thread(self._thread.join, START_TIMEOUT_SECONDS)
        self._server = None
        self._thread = None

    async def __aenter__(self) -> GraphServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
