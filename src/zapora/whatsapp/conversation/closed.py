"""The reply to a customer who writes while the store takes no orders."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from zapora.stores.hours import OpeningStatus
from zapora.stores.models import Store
from zapora.whatsapp import texts

# Within this many days the weekday name alone is clear, later the date is added.
WEEKDAY_ONLY_DAYS = 6


def describe_opening(language: str, opens_at: datetime, now: datetime, zone: ZoneInfo) -> str:
    """Describe ``opens_at`` in local time: "today at 18:00", "Friday at 18:00" and so on."""
    local = opens_at.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    clock = local.strftime("%H:%M")
    if days <= 0:
        return texts.text(language, "conv.opens_today", time=clock)
    if days == 1:
        return texts.text(language, "conv.opens_tomorrow", time=clock)
    weekday = texts.text(language, f"weekday.{local.weekday()}")
    if days <= WEEKDAY_ONLY_DAYS:
        return texts.text(language, "conv.opens_weekday", weekday=weekday, time=clock)
    return texts.text(
        language,
        "conv.opens_date",
        weekday=weekday,
        day=local.day,
        month=local.month,
        time=clock,
    )


def closed_reply(store: Store, opening: OpeningStatus, now: datetime) -> str:
    """Return the closed-store text, naming the next opening when one is known."""
    if opening.opens_next_at is None:
        return texts.text(store.language, "conv.store_closed", store=store.name)
    when = describe_opening(store.language, opening.opens_next_at, now, ZoneInfo(store.time_zone))
    return texts.text(store.language, "conv.store_closed_until", store=store.name, when=when)
