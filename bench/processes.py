"""Start and stop the servers under test as child processes, each with its own log file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from bench.config import LOOPBACK, REPO_DIR

VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    """A child process in a session of its own, so stopping it also stops its workers."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path

    def wait_http(self, port: int, path: str = "/", timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until ``path`` on ``port`` responds with a status below 500, else raise."""
        deadline = time.monotonic() + timeout
        url = f"http://{LOOPBACK}:{port}{path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} did not respond at {url} within {timeout:g} s:\n{self.log_tail()}"
        )

    def cpu_seconds(self) -> float:
        """Return the CPU time (user and system) used so far by the process and its children."""
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.process.pid))

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Send SIGTERM to the process group and wait; SIGKILL it when it does not stop."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _process_tree(pid: int) -> list[int]:
    """Return ``pid`` and its live descendants, read from /proc (Linux)."""
    found = [pid]
    for parent in found:
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                found.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The fields after the command name, which may contain spaces, start at field 3.
    fields = stat.rpartition(")")[2].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / CLOCK_TICKS


def start(name: str, command: Sequence[str], env: Mapping[str, str], log_dir: Path) -> Server:
    """Start ``command`` with ``env`` added to this process's environment."""
    log_path = log_dir / f"{name}.log"
    python_path = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
    full_env = {**os.environ, **env, "PYTHONPATH": python_path}
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - commands are built by the harness
            list(command),
            cwd=REPO_DIR,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, process, log_path)


def uvicorn_command(app: str, port: int, workers: int, *, factory: bool = False) -> list[str]:
    """Return the uvicorn command line the probes and the reference peer share."""
    command = [
        str(VENV_BIN / "uvicorn"),
        app,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if factory:
        command.append("--factory")
    return command
