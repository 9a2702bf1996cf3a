"""The bare ASGI limit probe: the same menu bytes as Zapora's public menu, and nothing else.

Served by the same uvicorn and worker count as Zapora, it measures what this machine's HTTP
stack can deliver with no framework, middleware or cache in the way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_BODY = Path(os.environ["BENCH_MENU_FILE"]).read_bytes()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Respond to every HTTP request with the menu, and ignore lifespan events."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
