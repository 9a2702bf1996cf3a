"""One turn of the conversation: the loaded state and the replies being composed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.money import format_money
from zapora.stores.models import Store
from zapora.whatsapp import texts
from zapora.whatsapp.conversation.state import Choice, ConversationState
from zapora.whatsapp.messages import (
    INTERACTIVE_BODY_MAX,
    LIST_ROWS_MAX,
    ListRow,
    buttons_body,
    buttons_fit,
    list_body,
    location_request_body,
    split_text,
    text_body,
    truncate,
)

logger = structlog.get_logger(__name__)

PAGE_NEXT = "page:next"
PAGE_PREV = "page:prev"


@dataclass(frozen=True)
class Answer:
    """A customer's text or tap, read against the question asked last.

    ``choice`` is the id of the row or button chosen, by tap, by typed number or by
    typed title. ``text`` is the typed text normalised (empty for taps), ``raw_text``
    the typed text as sent (None for taps).
    """

    choice: str | None
    text: str
    raw_text: str | None


@dataclass(frozen=True)
class Page:
    rows: list[ListRow]
    number: int
    count: int


@dataclass
class Turn:
    """The context every step works with while handling one customer message.

    Notes are short texts (an acknowledgement, an error) that go in front of the next
    question so the customer gets one message instead of several.
    """

    session: AsyncSession
    settings: Settings
    store: Store
    customer: Customer
    state: ConversationState
    replies: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The order this turn placed: its replies are queued as messages about that order.
    order_id: uuid.UUID | None = None
    # Outbox kinds of particular replies, by position in ``replies``.
    reply_kinds: dict[int, str] = field(default_factory=dict)

    def t(self, key: str, **values: Any) -> str:
        return texts.text(self.store.language, key, **values)

    def money(self, amount: int) -> str:
        return format_money(amount, self.store.currency, self.store.language)

    def item_count(self, count: int) -> str:
        """Return "1 item" or "N items" in the store's language."""
        if count == 1:
            return self.t("conv.item_count_one")
        return self.t("conv.item_count_many", count=count)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def ask_list(
        self,
        question: str,
        button: str,
        rows: Sequence[ListRow],
        *,
        details: str | None = None,
    ) -> None:
        """Send a list; the rows become the choices a typed number refers to."""
        self.state.choices = [Choice(row.id, row.title) for row in rows]
        footer = self.t("conv.list_footer")
        self._send(question, details, lambda body: list_body(body, button, rows, footer=footer))

    def ask_buttons(
        self, question: str, buttons: Sequence[tuple[str, str]], *, details: str | None = None
    ) -> None:
        """Send reply buttons, or a list when the titles do not fit as buttons."""
        if not buttons_fit([title for _, title in buttons]):
            rows = [ListRow(button_id, title) for button_id, title in buttons]
            self.ask_list(question, self.t("conv.button_choose"), rows, details=details)
            return
        self.state.choices = [Choice(button_id, title) for button_id, title in buttons]
        self._send(question, details, lambda body: buttons_body(body, buttons))

    def ask_location(self, question: str, *, details: str | None = None) -> None:
        self.state.choices = []
        self._send(question, details, location_request_body)

    def page(self, rows: Sequence[ListRow], extra: Sequence[ListRow] = ()) -> Page:
        """Cut ``rows`` to the current page so that no list exceeds 10 rows.

        ``extra`` rows appear on every page. When paging, two rows are reserved for
        the "more" and "back" links so every page has the same number of entries.
        """
        capacity = LIST_ROWS_MAX - len(extra)
        if len(rows) <= capacity:
            self.state.page = 0
            return Page([*rows, *extra], 0, 1)
        per_page = capacity - 2
        count = (len(rows) + per_page - 1) // per_page
        number = min(max(self.state.page, 0), count - 1)
        self.state.page = number
        chunk = list(rows[number * per_page : (number + 1) * per_page])
        navigation = []
        if number < count - 1:
            navigation.append(ListRow(PAGE_NEXT, self.t("conv.page_next")))
        if number > 0:
            navigation.append(ListRow(PAGE_PREV, self.t("conv.page_prev")))
        return Page([*chunk, *extra, *navigation], number, count)

    def _send(
        self, question: str, details: str | None, build: Callable[[str], dict[str, Any]]
    ) -> None:
        parts = [*self.notes, *([details] if details else []), question]
        self.notes.clear()
        body = "\n\n".join(parts)
        if len(body) <= INTERACTIVE_BODY_MAX:
            self.replies.append(build(body))
            return
        # Long content (a big cart) goes first as text, the question stays interactive.
        for chunk in split_text("\n\n".join(parts[:-1])):
            self.replies.append(text_body(chunk))
        if len(question) > INTERACTIVE_BODY_MAX:
            # Questions are built to fit. Cutting one that does not still sends the choices.
            logger.warning("conversation.question_truncated", length=len(question))
            question = truncate(question, INTERACTIVE_BODY_MAX)
        self.replies.append(build(question))

    def finish(self) -> list[dict[str, Any]]:
        """Return every reply, sending notes left without a question as one text."""
        if self.notes:
            for chunk in split_text("\n\n".join(self.notes)):
                self.replies.append(text_body(chunk))
            self.notes.clear()
        return self.replies
