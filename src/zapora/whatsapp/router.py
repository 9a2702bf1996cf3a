"""The WhatsApp Cloud API webhook and the staff view of the inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, status
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, SettingsDep, load_store_for, require
from zapora.whatsapp import service
from zapora.whatsapp.inbox import commit_delivery
from zapora.whatsapp.models import InboxStatus
from zapora.whatsapp.payloads import load_webhook_body
from zapora.whatsapp.processing import process_new_messages
from zapora.whatsapp.schemas import InboxMessageOut, WebhookReceipt
from zapora.whatsapp.signature import SIGNATURE_HEADER, check_verification, verify_signature

router = APIRouter(tags=["whatsapp"])
inbox_router = APIRouter(tags=["inbox"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_WEBHOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON.", **_PROBLEM},
    401: {"description": f"The {SIGNATURE_HEADER} header is missing.", **_PROBLEM},
    403: {
        "description": "The signature is wrong, or no app secret is configured.",
        **_PROBLEM,
    },
}
InboxReader = Annotated[User, Depends(require(Permission.INBOX_READ))]
InboxRetrier = Annotated[User, Depends(require(Permission.INBOX_RETRY))]


@router.get(
    "/webhooks/whatsapp",
    response_class=PlainTextResponse,
    responses={403: {"description": "Wrong mode or verify token.", **_PROBLEM}},
)
async def verify_webhook(
    settings: SettingsDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Return the challenge to Meta's subscription request when the verify token matches."""
    check_verification(mode, verify_token, settings.whatsapp_verify_token)
    return PlainTextResponse(challenge or "")


@router.post("/webhooks/whatsapp", response_model=WebhookReceipt, responses=_WEBHOOK_ERRORS)
async def receive_webhook(
    request: Request,
    background_tasks: BackgroundTasks,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> WebhookReceipt:
    """Store a signed WhatsApp delivery, each message once, and acknowledge it."""
    body = await request.body()
    verify_signature(body, signature, settings.whatsapp_app_secret)
    document = load_webhook_body(body)
    # A session of its own, committed before the response is sent, so the messages are
    # stored before Meta receives the 200 and before processing reads them.
    session_factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    inline = settings.webhooks_processed_inline
    # Without inline processing the worker picks the messages up: the insert transaction
    # wakes it on PostgreSQL, and its inbox sweep finds them otherwise.
    delivery = await commit_delivery(session_factory, document, wake_workers=not inline)
    if delivery.pending_ids and inline:
        background_tasks.add_task(
            process_new_messages, settings, session_factory, delivery.pending_ids
        )
    return WebhookReceipt(
        messages_stored=delivery.messages_stored,
        duplicates=delivery.duplicates,
        statuses_applied=delivery.statuses_applied,
    )


@inbox_router.get("/stores/{store_id}/inbox", response_model=list[InboxMessageOut])
async def list_store_inbox(
    store_id: uuid.UUID,
    session: SessionDep,
    user: InboxReader,
    status: InboxStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[InboxMessageOut]:
    """List the store's inbound WhatsApp messages, newest first; `status=dead` for dead letters."""
    await load_store_for(session, user, store_id)
    messages = await service.list_inbox(session, store_id, status=status, limit=limit)
    return [service.to_inbox_message_out(message) for message in messages]


@inbox_router.post(
    "/stores/{store_id}/inbox/{inbound_id}/retry",
    response_model=InboxMessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "The message is not dead.", **_PROBLEM}},
)
async def retry_inbox_message(
    store_id: uuid.UUID, inbound_id: uuid.UUID, session: SessionDep, user: InboxRetrier
) -> InboxMessageOut:
    """Send a dead message back to pending; the worker processes it on its next poll."""
    await load_store_for(session, user, store_id)
    message = await service.retry_dead_message(
        session, store_id, inbound_id, actor=Actor.staff(user)
    )
    return service.to_inbox_message_out(message)
