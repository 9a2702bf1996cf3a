"""Tell a customer on WhatsApp what happened to their order.

Every update is an outbox row written in the caller's transaction, with the order and the
kind of update on it. The row contains the text in the store's language. When the store has
an update template, the row also contains the template message to send once the customer's
24-hour window has closed, and the sender chooses between the two at send time.

Flood control: a new ``status`` update of an order supersedes that order's ``status``
update still waiting in the outbox (not sent and not held by a sender), so a customer whose
order moves several steps in quick succession hears only the latest one. The sender also
holds each ``status`` update for ``notification_merge_seconds`` after it is queued, which
gives a quick next change the time to replace it. Other kinds (assignment, delay, payment)
are never superseded, and messages to one customer still go out in the order queued.
"""

from __future__ import annotations

import re
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.config import get_settings
from zapora.customers.models import Customer
from zapora.observability.logging import mask_phone
from zapora.orders.models import Fulfilment, Order, OrderStatus
from zapora.outbox.models import OutboxMessage
from zapora.outbox.service import STATUS_KIND, enqueue, supersede_pending
from zapora.reports.local_days import store_zone
from zapora.stores.models import Store
from zapora.tracking.service import tracking_url
from zapora.whatsapp.texts import CATALOGS, DEFAULT_LANGUAGE, text

logger = structlog.get_logger(__name__)

# Values a store may name in ``update_template_parameters``, filled in that order.
TEMPLATE_PARAMETERS = frozenset(
    {
        "order_number",
        "status",
        "store_name",
        "tracking_url",
        "courier_name",
        "handover_code",
        "estimated_time",
        "customer_name",
        "message",
    }
)

# The Graph API rejects an empty template parameter.
MISSING_VALUE = "-"

# WhatsApp template language codes of the store languages.
_TEMPLATE_LANGUAGES = {"pt-BR": "pt_BR", "en": "en"}

# Template parameters may not hold newlines, tabs or runs of more than four spaces.
_WHITESPACE = re.compile(r"\s+")


def status_text_key(order: Order) -> str:
    """Return the text key announcing the order's current status."""
    if order.status == OrderStatus.READY.value and order.fulfilment == Fulfilment.PICKUP.value:
        return "order_status.ready_pickup"
    return f"order_status.{order.status}"


async def notify_status_change(session: AsyncSession, store: Store, order: Order) -> None:
    """Queue the status text for the order's customer, unless the status has no text."""
    key = status_text_key(order)
    if key not in CATALOGS[DEFAULT_LANGUAGE]:
        return
    await notify_order_update(
        session,
        store,
        order,
        kind=STATUS_KIND,
        text_key=key,
        reason=order.cancel_reason or "",
    )


async def notify_order_update(
    session: AsyncSession,
    store: Store,
    order: Order,
    *,
    kind: str,
    text_key: str,
    **params: object,
) -> OutboxMessage | None:
    """Queue an update about ``order`` for its customer in the caller's transaction.

    The text ``text_key`` is filled with ``number`` (the order number) and ``params``.
    Orders without a customer (entered by staff) get nothing and return None. A ``status``
    update supersedes the order's status update still waiting to be sent.
    """
    if order.customer_id is None:
        return None
    customer = await session.get(Customer, order.customer_id)
    if customer is None or customer.store_id != order.store_id:
        logger.warning(
            "order.customer_missing", order_id=str(order.id), customer_id=str(order.customer_id)
        )
        return None
    body = text(store.language, text_key, **{"number": order.number, **params})
    if kind == STATUS_KIND:
        await supersede_pending(session, store_id=store.id, order_id=order.id, kind=kind)
    message = await enqueue(
        session,
        store_id=order.store_id,
        to=customer.wa_id,
        body={"type": "text", "text": {"body": body}},
        customer_id=customer.id,
        order_id=order.id,
        kind=kind,
        template_body=update_template(store, order, customer, body, params),
    )
    logger.info(
        "order.update_queued",
        order_id=str(order.id),
        store_id=str(order.store_id),
        kind=kind,
        status=order.status,
        to=mask_phone(customer.wa_id),
    )
    return message


def update_template(
    store: Store,
    order: Order,
    customer: Customer,
    message: str,
    params: dict[str, object],
) -> dict[str, object] | None:
    """Build the store's update template for this update, or None when it has none.

    A parameter name outside ``TEMPLATE_PARAMETERS`` leaves the store without a usable
    template, so the update goes out as text inside the window and fails visibly outside it.
    """
    if not store.update_template_name:
        return None
    names = list(store.update_template_parameters or [])
    unknown = [name for name in names if name not in TEMPLATE_PARAMETERS]
    if unknown:
        logger.warning(
            "order.update_template_invalid", store_id=str(store.id), unknown_parameters=unknown
        )
        return None
    values = _template_values(store, order, customer, message, params)
    language = store.update_template_language or _TEMPLATE_LANGUAGES.get(store.language, "pt_BR")
    template: dict[str, object] = {
        "name": store.update_template_name,
        "language": {"code": language},
    }
    if names:
        parameters = [{"type": "text", "text": values[name]} for name in names]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": template}


def _template_values(
    store: Store,
    order: Order,
    customer: Customer,
    message: str,
    params: dict[str, object],
) -> dict[str, str]:
    settings = get_settings()
    link = (
        tracking_url(settings.public_base_url, order.tracking_token)
        if order.tracking_token
        else None
    )
    values: dict[str, object | None] = {
        "order_number": order.number,
        "status": text(store.language, f"status_label.{order.status}"),
        "store_name": store.name,
        "tracking_url": link,
        "courier_name": params.get("courier_name"),
        "handover_code": params.get("handover_code") or order.handover_code,
        "estimated_time": _local_time(store, order.estimated_delivery_at),
        "customer_name": customer.profile_name or order.customer_name,
        "message": message,
    }
    return {name: _parameter(value) for name, value in values.items()}


def _local_time(store: Store, instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(store_zone(store)).strftime("%H:%M")


def _parameter(value: object | None) -> str:
    if value is None:
        return MISSING_VALUE
    cleaned = _WHITESPACE.sub(" ", str(value)).strip()
    return cleaned or MISSING_VALUE
