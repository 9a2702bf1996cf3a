"""Build signed WhatsApp Cloud API deliveries for wrk: one text message each, all unique."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

CUSTOMERS = 500
GREETINGS = ("oi", "olá", "boa noite", "cardápio", "quero pedir")


def _delivery(phone_number_id: str, wa_id: str, text: str, message_id: str) -> dict[str, object]:
    message = {
        "from": wa_id,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511955550000", "phone_number_id": phone_number_id},
        "contacts": [{"wa_id": wa_id, "profile": {"name": f"Cliente {wa_id[-4:]}"}}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def write_bodies(path: Path, count: int, *, phone_number_id: str, app_secret: str) -> None:
    """Write ``count`` lines of ``signature<TAB>body``, serialised as Meta does (ASCII, ``\\/``)."""
    run = uuid.uuid4().hex[:12]
    with path.open("w") as handle:
        for index in range(count):
            wa_id = f"55119{index % CUSTOMERS:08d}"
            payload = _delivery(
                phone_number_id,
                wa_id,
                GREETINGS[index % len(GREETINGS)],
                f"wamid.bench.{run}.{index}",
            )
            body = json.dumps(payload, ensure_ascii=True).replace("/", "\\/").encode()
            digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
            handle.write(f"sha256={digest}\t{body.decode()}\n")
