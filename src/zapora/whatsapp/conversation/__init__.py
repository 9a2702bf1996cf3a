"""The WhatsApp ordering conversation: one customer message in, the bot's replies queued.

``handle_message`` is the entry point. The state of each customer's conversation is one
``Conversation`` row; see ``state.Step`` for the steps and ``dispatch.STEPS`` for how
each step asks its question and reads the answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.db import utcnow
from zapora.outbox.service import enqueue
from zapora.stores.hours_service import StoreHoursCache, store_status
from zapora.stores.models import Store
from zapora.whatsapp.conversation import dispatch
from zapora.whatsapp.conversation.closed import closed_reply
from zapora.whatsapp.conversation.queries import get_conversation
from zapora.whatsapp.conversation.state import ConversationState, Step
from zapora.whatsapp.conversation.turn import Turn
from zapora.whatsapp.events import IncomingMessage
from zapora.whatsapp.messages import text_body
from zapora.whatsapp.models import Conversation

__all__ = ["LoadedConversation", "handle_message"]

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LoadedConversation:
    """The customer's conversation row as the caller read it, None when there is none.

    It must have been read in the same transaction, after the customer row was locked.
    """

    row: Conversation | None


async def handle_message(
    session: AsyncSession,
    settings: Settings,
    store: Store,
    customer: Customer,
    message: IncomingMessage,
    *,
    loaded: LoadedConversation | None = None,
    hours_cache: StoreHoursCache | None = None,
) -> None:
    """Run one step of the customer's conversation and queue the replies in the outbox.

    Runs inside the caller's transaction, with the customer row locked by the caller;
    flushes, never commits. While the store is closed every message gets the same
    short reply and the conversation, cart included, is left as it was. ``loaded`` saves
    reading the conversation row again, and ``hours_cache`` reading the store's hours.
    """
    now = utcnow()
    opening = await store_status(session, store, now, hours_cache=hours_cache)
    if not opening.open:
        closed = closed_reply(store, opening, now)
        await _queue(session, store, customer, [text_body(closed)])
        return

    conversation, state, fresh = await _load(session, store, customer, now, loaded)
    turn = Turn(session=session, settings=settings, store=store, customer=customer, state=state)
    if not fresh and conversation.expires_at <= now:
        if state.cart:
            turn.note(turn.t("conv.expired"))
        turn.state = ConversationState()
        fresh = True
        logger.info("conversation.expired", store_id=str(store.id), customer_id=str(customer.id))

    await dispatch.run(turn, message, fresh=fresh)

    conversation.state = turn.state.step.value
    conversation.data = turn.state.to_data()
    conversation.expires_at = now + timedelta(minutes=settings.conversation_ttl_minutes)
    replies = turn.finish()
    if not replies:
        # Queuing a reply flushes the conversation with it.
        await session.flush()
    await _queue(session, store, customer, replies, order_id=turn.order_id, kinds=turn.reply_kinds)
    logger.info(
        "conversation.replied",
        store_id=str(store.id),
        customer_id=str(customer.id),
        step=turn.state.step.value,
        replies=len(turn.replies),
    )


async def _load(
    session: AsyncSession,
    store: Store,
    customer: Customer,
    now: datetime,
    loaded: LoadedConversation | None,
) -> tuple[Conversation, ConversationState, bool]:
    """Return the customer's conversation row, its state, and whether the row is new."""
    if loaded is None:
        conversation = await get_conversation(session, store.id, customer.id)
    else:
        conversation = loaded.row
    if conversation is not None:
        state = ConversationState.from_data(conversation.state, conversation.data or {})
        return conversation, state, False
    conversation = Conversation(
        store_id=store.id,
        customer_id=customer.id,
        state=Step.IDLE.value,
        data={},
        expires_at=now,
    )
    session.add(conversation)
    return conversation, ConversationState(), True


async def _queue(
    session: AsyncSession,
    store: Store,
    customer: Customer,
    bodies: list[dict[str, object]],
    *,
    order_id: uuid.UUID | None = None,
    kinds: dict[int, str] | None = None,
) -> None:
    default_kind = "order_placed" if order_id is not None else "reply"
    for index, body in enumerate(bodies):
        await enqueue(
            session,
            store_id=store.id,
            to=customer.wa_id,
            body=body,
            customer_id=customer.id,
            order_id=order_id,
            kind=(kinds or {}).get(index, default_kind),
        )
