"""Records of the Graph API stand-in: one JSON line per send request, written and read back.

The stand-in process (``graph_process.py``) serves the same app as ``zapora chat``'s
simulator and appends a line per accepted or rejected message, so tests and operators can
read what the workers sent even after a process died.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from zapora.chat.graph_server import GraphEvent, SentMessage


@dataclass(frozen=True)
class GraphRecord:
    """One send request the stand-in received, as read back from the record file."""

    received_at: float
    accepted: bool
    phone_number_id: str
    to: str | None
    body: dict[str, Any]
    message_id: str | None
    error_code: int | None

    @property
    def outbox_id(self) -> str | None:
        """Return the outbox row id the sender put in ``biz_opaque_callback_data``."""
        value = self.body.get("biz_opaque_callback_data")
        return value if isinstance(value, str) else None


def _line(event: GraphEvent) -> dict[str, Any]:
    if isinstance(event, SentMessage):
        return {
            "received_at": time.time(),
            "accepted": True,
            "phone_number_id": event.phone_number_id,
            "to": event.to,
            "body": event.body,
            "message_id": event.message_id,
            "error_code": None,
        }
    return {
        "received_at": time.time(),
        "accepted": False,
        "phone_number_id": event.phone_number_id,
        "to": event.to,
        "body": {"details": event.details},
        "message_id": None,
        "error_code": event.code,
    }


def recorder(record_file: IO[str]) -> Callable[[GraphEvent], None]:
    """Build the stand-in's event callback that appends each event to ``record_file``."""

    def record(event: GraphEvent) -> None:
        # Flushed per event: a reader may look while this process runs, or after it is killed.
        record_file.write(json.dumps(_line(event), ensure_ascii=False) + "\n")
        record_file.flush()

    return record


def read_records(path: Path) -> list[GraphRecord]:
    """Read every complete record in ``path``. A missing file means no records yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    # The text after the last newline is a line the stand-in may be writing right now.
    complete = text.split("\n")[:-1]
    return [GraphRecord(**json.loads(line)) for line in complete if line]
