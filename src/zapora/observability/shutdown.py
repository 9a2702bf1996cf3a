"""Shutdown state shared with the readiness probe, and the SIGTERM hook that sets it.

Uvicorn stops accepting connections as soon as it handles SIGTERM, so a probe can only see
"not ready" when the server keeps serving for a while after the signal. With
``shutdown_delay_seconds`` the hook below reports not ready at once and hands the signal to
uvicorn only after the delay, which gives a load balancer time to stop routing here.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

logger = structlog.get_logger(__name__)

SignalHandler = Callable[[int, FrameType | None], Any]


class ShutdownState:
    """Whether the process is shutting down, and why."""

    def __init__(self) -> None:
        self.reason: str | None = None

    @property
    def in_progress(self) -> bool:
        return self.reason is not None

    def begin(self, reason: str) -> None:
        """Mark the shutdown as started; the first reason is kept."""
        if self.reason is None:
            self.reason = reason


class TerminationHook:
    """Mark SIGTERM and SIGINT in a ShutdownState before the server's own handler runs.

    The hook wraps a handler that a server (uvicorn) installed, and installs nothing when
    the signal still has its default action, as in tests that start the application without
    a server. SIGTERM reaches the server's handler after ``delay_seconds``, and SIGINT, or a
    second SIGTERM, at once.
    """

    def __init__(self, state: ShutdownState, *, delay_seconds: float) -> None:
        self.state = state
        self.delay_seconds = delay_seconds
        self._previous: dict[signal.Signals, SignalHandler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """Wrap the current Python handlers of SIGTERM and SIGINT; call it from the loop."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signal_number)
            if callable(previous):
                self._previous[signal_number] = previous
                signal.signal(signal_number, self._handle)

    def uninstall(self) -> None:
        """Put the wrapped handlers back."""
        for signal_number, previous in self._previous.items():
            signal.signal(signal_number, previous)
        self._previous.clear()

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        # A signal handler must not log or take locks: the log lines come from the loop.
        name = signal.Signals(signal_number).name
        first = not self.state.in_progress
        self.state.begin(f"received {name}")
        previous = self._previous.get(signal.Signals(signal_number))
        if previous is None:
            return
        loop = self._loop
        delay = self.delay_seconds if signal_number == signal.SIGTERM and first else 0.0
        if loop is None or delay <= 0 or loop.is_closed():
            previous(signal_number, frame)
            return
        loop.call_soon_threadsafe(self._delay, name, previous, signal_number)

    def _delay(self, name: str, previous: SignalHandler, signal_number: int) -> None:
        assert self._loop is not None
        logger.info("shutdown.delayed", signal=name, delay_seconds=self.delay_seconds)
        self._loop.call_later(self.delay_seconds, previous, signal_number, None)
