"""Staff view of the WhatsApp messages sent about one order, with their delivery progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, reads_only, require
from zapora.errors import PROBLEM_CONTENT_TYPE, NotFoundError
from zapora.orders.models import Order
from zapora.outbox.models import OutboxMessage

router = APIRouter(prefix="/stores/{store_id}/orders/{order_id}/messages", tags=["orders"])

OrderReader = Annotated[User, Depends(require(Permission.ORDERS_READ))]

# Enough of a message to recognise it in a list. The full text stays in the outbox.
SUMMARY_MAX_LENGTH = 160


class OrderMessageOut(BaseModel):
    """One outbound message about the order and what became of it."""

    id: uuid.UUID
    kind: str = Field(description="What the message is about: status, assignment, delay, ...")
    summary: str = Field(description="The start of the text, or the template and its values.")
    status: str = Field(description="pending, sent, failed or superseded.")
    attempts: int
    error_code: int | None = Field(description="The Graph API error code of the last failure.")
    error_message: str | None
    graph_message_id: str | None
    delivery_status: str | None = Field(description="sent, delivered, read or failed.")
    delivery_status_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The store or order does not exist or belongs to another store.",
        "content": {PROBLEM_CONTENT_TYPE: {}},
    },
}


@router.get("", response_model=list[OrderMessageOut], responses=_PROBLEMS)
@reads_only
async def list_order_messages(
    store_id: uuid.UUID, order_id: uuid.UUID, session: SessionDep, user: OrderReader
) -> list[OrderMessageOut]:
    """List every WhatsApp message queued about the order, oldest first, with its status."""
    store = await load_store_for(session, user, store_id)
    found = (
        await session.execute(
            select(Order.id, Order.handover_code).where(
                Order.store_id == store.id, Order.id == order_id
            )
        )
    ).one_or_none()
    if found is None:
        raise NotFoundError(f"Order {order_id} not found.", field="order_id")
    handover_code = found.handover_code
    messages = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.store_id == store.id, OutboxMessage.order_id == order_id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [
        OrderMessageOut(
            id=message.id,
            kind=message.kind,
            summary=_hide_code(summarize(message.body), handover_code),
            status=message.status,
            attempts=message.attempts,
            error_code=message.error_code,
            error_message=message.error_message,
            graph_message_id=message.graph_message_id,
            delivery_status=message.delivery_status,
            delivery_status_at=message.delivery_status_at,
            created_at=message.created_at,
            sent_at=message.sent_at,
        )
        for message in messages
    ]


def _hide_code(summary: str, code: str | None) -> str:
    # The handover code proves that the courier met the customer, so staff never read it.
    if not code:
        return summary
    return summary.replace(code, "•" * len(code))


def summarize(body: Mapping[str, Any]) -> str:
    """Describe a Graph API message body in one short line."""
    message_type = str(body.get("type", ""))
    content = body.get(message_type)
    content = content if isinstance(content, Mapping) else {}
    if message_type == "text":
        summary = str(content.get("body", ""))
    elif message_type == "interactive":
        summary = str(_mapping(content.get("body")).get("text", ""))
    elif message_type == "template":
        summary = _template_summary(content)
    else:
        summary = f"[{message_type}]"
    summary = " ".join(summary.split())
    if len(summary) > SUMMARY_MAX_LENGTH:
        summary = summary[: SUMMARY_MAX_LENGTH - 1] + "…"
    return summary


def _template_summary(template: Mapping[str, Any]) -> str:
    values = [
        str(_mapping(parameter).get("text", ""))
        for component in template.get("components") or []
        for parameter in _mapping(component).get("parameters") or []
    ]
    name = f"template {template.get('name', '')}"
    return f"{name}: {' | '.join(values)}" if values else name


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
