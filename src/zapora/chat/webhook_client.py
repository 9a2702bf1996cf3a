"""Post customer messages and delivery statuses to a Zapora webhook the way Meta does."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Fake ids of the business account and its display number; Zapora routes by phone number id.
BUSINESS_ACCOUNT_ID = "100000000000000"
DISPLAY_PHONE_NUMBER = "5511955550000"


class WebhookError(Exception):
    """Raised when the server does not accept a post; the message names the fix."""


class ServerUnreachableError(WebhookError):
    pass


class SignatureRejectedError(WebhookError):
    pass


class WebhookRejectedError(WebhookError):
    pass


@dataclass(frozen=True)
class Customer:
    """The simulated customer and the business number they write to."""

    phone_number_id: str
    wa_id: str
    profile_name: str


def new_message_id() -> str:
    """Return a fresh, unique WhatsApp message id (``wamid.`` and random URL-safe text)."""
    return f"wamid.{secrets.token_urlsafe(30)}"


def unix_timestamp() -> str:
    return str(int(time.time()))


def _envelope(customer: Customer, value: dict[str, Any]) -> dict[str, Any]:
    metadata = {
        "display_phone_number": DISPLAY_PHONE_NUMBER,
        "phone_number_id": customer.phone_number_id,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": BUSINESS_ACCOUNT_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                    }
                ],
            }
        ],
    }


def build_message_envelope(
    customer: Customer, message: Mapping[str, Any], *, message_id: str, timestamp: str
) -> dict[str, Any]:
    """Wrap one customer message (``type`` plus its object) in a Cloud API webhook body."""
    item = {"from": customer.wa_id, "id": message_id, "timestamp": timestamp, **message}
    contact = {"profile": {"name": customer.profile_name}, "wa_id": customer.wa_id}
    return _envelope(customer, {"contacts": [contact], "messages": [item]})


def build_status_envelope(
    customer: Customer,
    *,
    message_id: str,
    status: str,
    timestamp: str,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """Build the webhook body that reports a delivery status of a message the bot sent."""
    item: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": timestamp,
        "recipient_id": customer.wa_id,
    }
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    return _envelope(customer, {"statuses": [item]})


def encode_body(envelope: Mapping[str, Any]) -> bytes:
    """Serialise as Meta does: non-ASCII as ``\\uXXXX`` and ``/`` as ``\\/``.

    A server that re-serialises the parsed JSON instead of hashing the bytes it received
    gets another digest, so this encoding exposes that mistake.
    """
    text = json.dumps(envelope, ensure_ascii=True, separators=(",", ":"))
    # A "/" can occur only inside JSON strings, where "\/" is a valid escape for it.
    return text.replace("/", "\\/").encode("ascii")


def sign(body: bytes, app_secret: str) -> str:
    """Return the ``X-Hub-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of body."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookClient:
    """Send signed webhook POSTs for one simulated customer."""

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, app_secret: str, customer: Customer
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._app_secret = app_secret
        self.customer = customer

    async def send_message(self, message: Mapping[str, Any]) -> str:
        """Post a customer message and return the wamid it was given."""
        message_id = new_message_id()
        envelope = build_message_envelope(
            self.customer, message, message_id=message_id, timestamp=unix_timestamp()
        )
        await self.post(envelope)
        return message_id

    async def send_status(
        self, message_id: str, status: str, *, callback_data: str | None = None
    ) -> None:
        """Report that a message the bot sent was ``sent``, ``delivered`` or ``read``."""
        envelope = build_status_envelope(
            self.customer,
            message_id=message_id,
            status=status,
            timestamp=unix_timestamp(),
            callback_data=callback_data,
        )
        await self.post(envelope)

    async def post(self, envelope: Mapping[str, Any]) -> None:
        """Sign and post a webhook body; raise a ``WebhookError`` naming the fix."""
        body = encode_body(envelope)
        url = f"{self._base_url}{WEBHOOK_PATH}"
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._app_secret),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.ConnectError:
            raise ServerUnreachableError(
                f"no Zapora server at {self._base_url}; start it with make run"
            ) from None
        except httpx.TimeoutException:
            raise ServerUnreachableError(
                f"the Zapora server at {self._base_url} timed out; check its log"
            ) from None
        _raise_for_status(response, url)


def _raise_for_status(response: httpx.Response, url: str) -> None:
    if response.status_code == 200:
        return
    detail = _problem_detail(response)
    if response.status_code in (401, 403):
        raise SignatureRejectedError(
            "the server rejected the signature: use the same ZAPORA_WHATSAPP_APP_SECRET "
            f"as the server, or pass --app-secret (server: {detail})"
        )
    if response.status_code in (404, 405):
        raise WebhookRejectedError(
            f"POST {url} returned {response.status_code}: is this a Zapora server? ({detail})"
        )
    raise WebhookRejectedError(f"POST {url} returned {response.status_code}: {detail}")


def _problem_detail(response: httpx.Response) -> str:
    """Return the ``detail`` of a problem+json body, else the start of the body."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict) and isinstance(problem.get("detail"), str):
        return str(problem["detail"])
    return response.text[:300]
