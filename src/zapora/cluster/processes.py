"""Child processes of a local cluster: start, wait until ready, stop, kill and restart by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

POLL_SECONDS = 0.1
HTTP_PROBE_TIMEOUT_SECONDS = 1.0

ReadyCheck = Callable[["ManagedProcess"], bool]


class ClusterError(RuntimeError):
    """Raised when a cluster process cannot start or a required service is missing."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on at the moment of the call.

    NOTE: another program may take the port between this call and the bind of the process
    that receives it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_ok(url: str) -> ReadyCheck:
    """Build a readiness check that passes once ``GET url`` returns 200."""

    def check(_: ManagedProcess) -> bool:
        try:
            return httpx.get(url, timeout=HTTP_PROBE_TIMEOUT_SECONDS).status_code == 200
        except httpx.TransportError:
            return False

    return check


def port_open(port: int) -> ReadyCheck:
    """Build a readiness check that passes once 127.0.0.1:``port`` accepts connections."""

    def check(_: ManagedProcess) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=HTTP_PROBE_TIMEOUT_SECONDS):
                return True
        except OSError:
            return False

    return check


def log_contains(text: str) -> ReadyCheck:
    """Build a readiness check that passes once the process's current log contains ``text``."""

    def check(process: ManagedProcess) -> bool:
        try:
            with process.log_path.open("rb") as log:
                log.seek(process.log_offset)
                return text.encode() in log.read()
        except FileNotFoundError:
            return False

    return check


@dataclass
class ManagedProcess:
    """One named child process, restartable with the same command, environment and log.

    Each start appends to the same log file. Children run in a session of their own, so a
    Ctrl+C in the terminal reaches only the cluster runner, which then stops them in order.
    """

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    ready: ReadyCheck
    cwd: Path
    stop_signal: signal.Signals = signal.SIGTERM
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_offset: int = 0
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        """Spawn the process without waiting for it to become ready."""
        if self.is_running():
            raise ClusterError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            self.popen = subprocess.Popen(  # noqa: S603 - the command is built by the cluster
                list(self.command),
                env=dict(self.env),
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout_seconds: float) -> None:
        """Block until the readiness check passes, or raise ``ClusterError`` on exit or timeout."""
        deadline = time.monotonic() + timeout_seconds
        while not self.ready(self):
            if not self.is_running():
                code = self.popen.returncode if self.popen is not None else None
                raise ClusterError(
                    f"{self.name} exited with code {code} while starting, "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{self.name} was not ready within {timeout_seconds:g} s, "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(POLL_SECONDS)

    def kill(self) -> None:
        """Send SIGKILL, as a crash or the kernel's out-of-memory killer would, and reap it."""
        if self.popen is None or not self.is_running():
            return
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout_seconds: float) -> int | None:
        """Send the stop signal, SIGKILL after ``timeout_seconds``, and return the exit code."""
        if self.popen is None:
            return None
        if self.is_running():
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def log_tail(self, lines: int = 20) -> str:
        """Return the last ``lines`` lines written since the latest start."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_all(processes: Sequence[ManagedProcess], timeout_seconds: float) -> None:
    """Spawn every process first, then wait for each, so they start in parallel."""
    for process in processes:
        process.start()
    for process in processes:
        process.wait_ready(timeout_seconds)


def environment_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """Return this process's environment with ``overrides`` applied."""
    return {**os.environ, **overrides}
