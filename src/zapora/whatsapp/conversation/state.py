"""Conversation state: the current step and what ``Conversation.data`` holds.

The cart keeps catalog ids and quantities only. Prices are read from the catalog
whenever the cart is shown and again when the order is placed.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import structlog

logger = structlog.get_logger(__name__)


class Step(StrEnum):
    """The question the bot asked last, and so how the next message is read."""

    IDLE = "idle"
    MENU = "menu"
    CATEGORY = "category"
    OPTIONS = "options"
    QUANTITY = "quantity"
    ADDED = "added"
    CART = "cart"
    REMOVE = "remove"
    FULFILMENT = "fulfilment"
    ADDRESS = "address"
    PAYMENT = "payment"
    CHANGE = "change"
    CONFIRM = "confirm"


# Steps after "finalizar": a location pin received in any of them becomes the address.
CHECKOUT_STEPS = frozenset({Step.FULFILMENT, Step.ADDRESS, Step.PAYMENT, Step.CHANGE, Step.CONFIRM})


@dataclass
class CartLine:
    key: str
    item_id: str
    option_ids: list[str]
    quantity: int


@dataclass
class PendingItem:
    """An item being configured: the option group being asked and the options chosen."""

    item_id: str
    group_index: int = 0
    option_ids: list[str] = field(default_factory=list)


@dataclass
class Checkout:
    fulfilment: str | None = None
    address_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    payment: str | None = None
    change_for: int | None = None
    # The amounts in the summary last shown, so a price change before "confirm" is caught.
    shown_subtotal: int | None = None
    shown_delivery_fee: int | None = None


@dataclass
class Choice:
    """One row or button offered last, so a typed number or title can select it."""

    id: str
    title: str


@dataclass
class ConversationState:
    step: Step = Step.IDLE
    cart: list[CartLine] = field(default_factory=list)
    pending: PendingItem | None = None
    checkout: Checkout | None = None
    category_id: str | None = None
    page: int = 0
    choices: list[Choice] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """Return a new dict for ``Conversation.data``, so SQLAlchemy detects the change."""
        data = asdict(self)
        data.pop("step")
        return data

    @classmethod
    def from_data(cls, step: str, data: dict[str, Any]) -> ConversationState:
        """Rebuild the state; data that no longer parses starts a fresh conversation."""
        try:
            return cls._parse(step, data)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("conversation.state_reset", error=type(exc).__name__)
            return cls()

    @classmethod
    def _parse(cls, step: str, data: dict[str, Any]) -> ConversationState:
        cart = [CartLine(**line) for line in data.get("cart", [])]
        for line in cart:
            uuid.UUID(line.item_id)
            for option_id in line.option_ids:
                uuid.UUID(option_id)
        pending = data.get("pending")
        checkout = data.get("checkout")
        return cls(
            step=Step(step),
            cart=cart,
            pending=PendingItem(**pending) if pending else None,
            checkout=Checkout(**checkout) if checkout else None,
            category_id=data.get("category_id"),
            page=int(data.get("page", 0)),
            choices=[Choice(**choice) for choice in data.get("choices", [])],
        )

    def choice_ids(self) -> set[str]:
        return {choice.id for choice in self.choices}

    def clear_draft(self) -> None:
        """Drop the item being configured and the checkout choices. The cart stays."""
        self.pending = None
        self.checkout = None
