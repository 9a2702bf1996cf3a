"""Housekeeping of the ``PROMETHEUS_MULTIPROC_DIR`` folder shared by several processes.

prometheus-client keeps each process's values in files named after its pid. Counters and
histograms of an ended process stay, so totals do not drop when a process restarts. The
files of live gauges (``livesum`` and the other ``live*`` modes) must go when their process
ends, or an ended process keeps adding its last value to every scrape.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import structlog
from prometheus_client import multiprocess

from zapora.observability.metrics import MULTIPROCESS_DIR_VARIABLE

logger = structlog.get_logger(__name__)

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    """Return the shared metrics folder, or None when each process keeps its own metrics."""
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The process exists but belongs to another user.
        return True
    return True


def remove_ended_processes() -> list[int]:
    """Delete the live gauge files of processes that are no longer running; return their pids.

    Every process calls this when it starts, which cleans up after processes that were
    killed before they could mark themselves ended.

    NOTE: a pid that the system has given to a new process since counts as running, so its
    files stay until that process ends.
    """
    directory = multiprocess_dir()
    if directory is None or not Path(directory).is_dir():
        return []
    ended: set[int] = set()
    for path in Path(directory).iterdir():
        match = _LIVE_GAUGE_FILE.match(path.name)
        if match is not None and not _is_running(int(match.group(1))):
            ended.add(int(match.group(1)))
    for pid in sorted(ended):
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    if ended:
        logger.info("metrics.ended_processes_removed", pids=sorted(ended))
    return sorted(ended)


def mark_this_process_ended() -> None:
    """Delete this process's live gauge files; call it last on a clean shutdown."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
