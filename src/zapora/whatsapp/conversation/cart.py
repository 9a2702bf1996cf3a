"""The cart: adding and removing lines, and pricing it from the catalog for display."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from zapora.catalog.models import Item
from zapora.orders.pricing import LineRequest, load_items
from zapora.whatsapp.conversation.parsing import MAX_QUANTITY
from zapora.whatsapp.conversation.state import CartLine, ConversationState

MAX_CART_LINES = 30
OPTIONS_MARK = "↳ "


class CartFullError(Exception):
    """The cart already has ``MAX_CART_LINES`` distinct lines."""


class QuantityLimitError(Exception):
    """Adding would put more than ``MAX_QUANTITY`` units of the same choice in one line."""


@dataclass(frozen=True)
class ShownLine:
    """A cart line priced from the current catalog."""

    key: str
    name: str
    option_names: list[str]
    quantity: int
    unit_price: int
    available: bool

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class PricedCart:
    lines: list[ShownLine]
    # Lines whose item left the menu; they were taken out of the cart.
    dropped: int

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.lines if line.available)

    @property
    def unavailable(self) -> list[ShownLine]:
        return [line for line in self.lines if not line.available]


def add_line(state: ConversationState, item_id: str, option_ids: list[str], quantity: int) -> None:
    """Add to the cart, merging with a line of the same item and the same options."""
    for line in state.cart:
        if line.item_id == item_id and sorted(line.option_ids) == sorted(option_ids):
            if line.quantity + quantity > MAX_QUANTITY:
                raise QuantityLimitError
            line.quantity += quantity
            return
    if len(state.cart) >= MAX_CART_LINES:
        raise CartFullError
    state.cart.append(CartLine(uuid.uuid4().hex[:8], item_id, list(option_ids), quantity))


def remove_line(state: ConversationState, key: str) -> CartLine | None:
    for index, line in enumerate(state.cart):
        if line.key == key:
            return state.cart.pop(index)
    return None


def line_requests(state: ConversationState) -> list[LineRequest]:
    return [
        LineRequest(
            item_id=uuid.UUID(line.item_id),
            quantity=line.quantity,
            option_ids=[uuid.UUID(option_id) for option_id in line.option_ids],
        )
        for line in state.cart
    ]


def _shown_line(line: CartLine, item: Item) -> ShownLine:
    chosen_ids = set(line.option_ids)
    names: list[str] = []
    unit_price = item.price
    available = item.is_available
    found: set[str] = set()
    for group in item.option_groups:
        for option in group.options:
            if str(option.id) in chosen_ids:
                found.add(str(option.id))
                names.append(option.name)
                unit_price += option.price
                available = available and option.is_available
    available = available and found == chosen_ids
    return ShownLine(line.key, item.name, names, line.quantity, unit_price, available)


async def price_cart(
    session: AsyncSession, store_id: uuid.UUID, state: ConversationState
) -> PricedCart:
    """Price every line from the catalog; lines whose item is gone leave the cart."""
    item_ids = {uuid.UUID(line.item_id) for line in state.cart}
    items = await load_items(session, store_id, item_ids)
    priced_lines: list[ShownLine] = []
    remaining: list[CartLine] = []
    for line in state.cart:
        item = items.get(uuid.UUID(line.item_id))
        if item is None:
            continue
        remaining.append(line)
        priced_lines.append(_shown_line(line, item))
    dropped = len(state.cart) - len(remaining)
    state.cart = remaining
    return PricedCart(priced_lines, dropped)


def options_text(names: list[str]) -> str:
    """Return the chosen options as a line to put under the item's line, or "" for none.

    A line of their own keeps option names that contain parentheses, such as
    "G (8 fatias)", readable.
    """
    return f"\n{OPTIONS_MARK}{', '.join(names)}" if names else ""


def describe_line(line: ShownLine, money: str) -> str:
    return f"{line.quantity}x {line.name} — {money}{options_text(line.option_names)}"
