"""A Graph API stand-in for the outbox benchmark: accepts every send at once."""

from __future__ import annotations

import itertools
import json
from typing import Any

_COUNTER = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Respond to ``POST /{phone_number_id}/messages`` as the Cloud API does, without checks."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = json.dumps(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "bench", "wa_id": "bench"}],
            "messages": [{"id": f"wamid.bench.{id(scope)}.{next(_COUNTER)}"}],
        }
    ).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
