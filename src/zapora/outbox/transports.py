"""Ways to deliver an outbox message: the WhatsApp Cloud API, or a log line in development."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import structlog

from zapora.config import Settings, WhatsAppTransport
from zapora.observability.logging import mask_phone
from zapora.outbox.errors import SendError, graph_error

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed outbox row with its store's WhatsApp credentials, detached from any session."""

    id: uuid.UUID
    store_id: uuid.UUID
    to: str
    body: dict[str, Any]
    attempts: int
    request_id: str | None
    # The claim's expiry, also written to the row. A result is recorded only while they match.
    lease_until: datetime
    phone_number_id: str | None
    access_token: str | None = field(repr=False)
    # The store's template, sent once the Graph API rejects ``body`` for the 24-hour window.
    # None when ``body`` is that template already or the store has none.
    template_body: dict[str, Any] | None = None


class Transport(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> str:
        """Deliver the message and return its WhatsApp message id, or raise ``SendError``."""
        ...

    async def aclose(self) -> None: ...


class LogTransport:
    """Write each message to the log and report it sent, for development without Meta."""

    name = WhatsAppTransport.LOG.value

    async def send(self, message: OutgoingMessage) -> str:
        graph_message_id = f"log.{uuid.uuid4()}"
        logger.info(
            "whatsapp.send",
            outbox_message_id=str(message.id),
            store_id=str(message.store_id),
            to=mask_phone(message.to),
            message_type=message.body.get("type"),
            graph_message_id=graph_message_id,
        )
        return graph_message_id

    async def aclose(self) -> None:
        return None


class CloudTransport:
    """Send through the Graph API ``/{phone_number_id}/messages`` endpoint with one client."""

    name = WhatsAppTransport.CLOUD.value

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._base_url = settings.whatsapp_api_base_url.rstrip("/")
        self._timeout_seconds = settings.whatsapp_timeout_seconds
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=settings.whatsapp_timeout_seconds)

    async def send(self, message: OutgoingMessage) -> str:
        if not message.phone_number_id or not message.access_token:
            raise SendError(
                f"store {message.store_id} has no WhatsApp phone number id or access token. "
                "Set both on the store to send through the Cloud API.",
                retryable=False,
            )
        url = f"{self._base_url}/{quote(message.phone_number_id, safe='')}/messages"
        headers = {"Authorization": f"Bearer {message.access_token}"}
        if message.request_id:
            headers["X-Request-ID"] = message.request_id
        try:
            response = await self._client.post(url, json=_payload(message), headers=headers)
        except httpx.TimeoutException as exc:
            raise SendError(
                f"Graph API request timed out after {self._timeout_seconds:g} s", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise SendError(
                f"Graph API connection failed: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if not response.is_success:
            raise graph_error(response.status_code, _json_or_none(response))
        return _graph_message_id(response)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _payload(message: OutgoingMessage) -> dict[str, Any]:
    payload = {
        **message.body,
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to,
    }
    # WhatsApp echoes this string in every status webhook of the message.
    payload.setdefault("biz_opaque_callback_data", str(message.id))
    return payload


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _graph_message_id(response: httpx.Response) -> str:
    payload = _json_or_none(response)
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        message_id = messages[0].get("id")
        if isinstance(message_id, str) and message_id:
            return message_id
    # The Graph API accepted the message, so sending it again could deliver it twice.
    raise SendError(
        f"Graph API returned HTTP {response.status_code} without messages[0].id",
        retryable=False,
    )


def build_transport(settings: Settings) -> Transport:
    """Create the transport that ``settings.resolved_transport`` selects."""
    if settings.resolved_transport is WhatsAppTransport.CLOUD:
        return CloudTransport(settings)
    return LogTransport()
