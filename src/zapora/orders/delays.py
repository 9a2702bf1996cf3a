"""Tell customers, once per order, that an order runs later than its estimate."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.config import Settings
from zapora.db import utcnow
from zapora.orders.models import UNSETTLED_STATUSES, Order
from zapora.orders.notifications import notify_order_update
from zapora.stores.models import Store

logger = structlog.get_logger(__name__)

DELAY_KIND = "delay"

# Rendered into the SQL as literals, so that every plan can use the partial index
# ix_orders_awaiting_delay_notice. A plan made for bound parameters cannot prove the match.
_UNSETTLED: BindParameter[list[str]] = bindparam(
    "unsettled_statuses", UNSETTLED_STATUSES, expanding=True, literal_execute=True
)


async def notify_late_orders(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Queue one "running late" message per late order in one transaction; return the count.

    An order is late once ``estimated_delivery_at`` plus ``delay_notice_grace_minutes`` has
    passed while it is not settled. ``delay_notified_at`` is claimed with a conditional
    UPDATE, so when several workers run this at once each customer is notified only once.
    """
    now = now or utcnow()
    deadline = now - timedelta(minutes=settings.delay_notice_grace_minutes)
    async with session_factory() as session, session.begin():
        candidates = list(
            await session.scalars(
                select(Order.id)
                .where(_is_late(deadline))
                .order_by(Order.estimated_delivery_at)
                .limit(limit)
            )
        )
        if not candidates:
            return 0
        claimed = list(
            await session.scalars(
                update(Order)
                .where(Order.id.in_(candidates), _is_late(deadline))
                .values(delay_notified_at=now)
                .returning(Order.id)
                .execution_options(synchronize_session=False)
            )
        )
        found = await session.execute(
            select(Order, Store)
            .join(Store, Store.id == Order.store_id)
            .where(Order.id.in_(claimed))
        )
        for order, store in found:
            await notify_order_update(
                session, store, order, kind=DELAY_KIND, text_key="order_update.running_late"
            )
            logger.info("order.delay_notified", order_id=str(order.id), store_id=str(store.id))
    return len(claimed)


def _is_late(deadline: datetime) -> ColumnElement[bool]:
    return and_(
        Order.delay_notified_at.is_(None),
        Order.estimated_delivery_at.is_not(None),
        Order.estimated_delivery_at <= deadline,
        Order.status.in_(_UNSETTLED),
    )
