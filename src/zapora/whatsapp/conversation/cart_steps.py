"""Showing and editing the cart: after adding an item, the cart view and line removal."""

from __future__ import annotations

import dataclasses
import uuid

from zapora.whatsapp.conversation.cart import (
    PricedCart,
    ShownLine,
    describe_line,
    price_cart,
    remove_line,
)
from zapora.whatsapp.conversation.menu_views import go, page_move, show_menu, with_page_info
from zapora.whatsapp.conversation.state import Step
from zapora.whatsapp.conversation.turn import Answer, Turn
from zapora.whatsapp.messages import ListRow

ACTION_MORE = "act:more"
ACTION_CART = "act:cart"
ACTION_CHECKOUT = "act:checkout"
ACTION_REMOVE = "act:remove"
ACTION_EMPTY = "act:empty"
REMOVE_PREFIX = "rm:"


def line_text(turn: Turn, line: ShownLine) -> str:
    amount = turn.money(line.line_total)
    if not line.available:
        amount = f"{amount} ({turn.t('conv.cart_unavailable')})"
    return describe_line(line, amount)


def cart_lines_text(turn: Turn, priced: PricedCart) -> str:
    return "\n".join(line_text(turn, line) for line in priced.lines)


async def load_cart(turn: Turn) -> PricedCart:
    """Price the cart from the catalog, telling the customer about lines that left the menu."""
    priced = await price_cart(turn.session, turn.store.id, turn.state)
    if priced.dropped:
        turn.note(turn.t("conv.cart_dropped"))
    return priced


def _next_actions(turn: Turn) -> list[tuple[str, str]]:
    return [
        (ACTION_CART, turn.t("conv.button_cart")),
        (ACTION_MORE, turn.t("conv.button_more")),
        (ACTION_CHECKOUT, turn.t("conv.button_checkout")),
    ]


async def show_added(turn: Turn, item_id: uuid.UUID, option_ids: list[str], quantity: int) -> None:
    """Confirm what was added, with the cart subtotal, and offer what to do next."""
    priced = await load_cart(turn)
    cart_line = next(
        line
        for line in turn.state.cart
        if line.item_id == str(item_id) and sorted(line.option_ids) == sorted(option_ids)
    )
    shown = next(line for line in priced.lines if line.key == cart_line.key)
    added = dataclasses.replace(shown, quantity=quantity)
    turn.note(
        turn.t(
            "conv.added",
            line=line_text(turn, added),
            subtotal=turn.money(priced.subtotal),
        )
    )
    await ask_next_action(turn)


async def ask_next_action(turn: Turn) -> None:
    go(turn, Step.ADDED)
    turn.ask_buttons(turn.t("conv.added_question"), _next_actions(turn))


async def show_cart(turn: Turn) -> None:
    """Show the cart's lines and subtotal, or reply that it is empty and show the menu."""
    priced = await load_cart(turn)
    if not priced.lines:
        turn.note(turn.t("conv.cart_empty"))
        await show_menu(turn)
        return
    go(turn, Step.CART)
    details = "\n".join(
        [
            turn.t("conv.cart_title"),
            cart_lines_text(turn, priced),
            "",
            turn.t("conv.cart_subtotal", amount=turn.money(priced.subtotal)),
        ]
    )
    buttons = [
        (ACTION_CHECKOUT, turn.t("conv.button_checkout")),
        (ACTION_MORE, turn.t("conv.button_more")),
        (ACTION_REMOVE, turn.t("conv.button_remove")),
    ]
    turn.ask_buttons(turn.t("conv.cart_question"), buttons, details=details)


async def show_remove(turn: Turn) -> None:
    """List the cart's lines to pick one to remove, plus a row that empties the cart."""
    priced = await load_cart(turn)
    if not priced.lines:
        await show_cart(turn)
        return
    go(turn, Step.REMOVE)
    rows = []
    for line in priced.lines:
        title = f"{line.quantity}x {line.name}"
        # The amount goes first because a description is cut at 72 characters.
        description = turn.money(line.line_total)
        if line.option_names:
            description += f" · {', '.join(line.option_names)}"
        rows.append(ListRow(f"{REMOVE_PREFIX}{line.key}", title, description))
    page = turn.page(rows, extra=[ListRow(ACTION_EMPTY, turn.t("conv.remove_all"))])
    question = with_page_info(turn, turn.t("conv.remove_question"), page)
    turn.ask_list(question, turn.t("conv.remove_button"), page.rows)


async def handle_remove(turn: Turn, answer: Answer) -> bool:
    if move := page_move(answer):
        turn.state.page += move
        await show_remove(turn)
        return True
    if not answer.choice or not answer.choice.startswith(REMOVE_PREFIX):
        return False
    key = answer.choice.removeprefix(REMOVE_PREFIX)
    priced = await load_cart(turn)
    shown = next((line for line in priced.lines if line.key == key), None)
    if shown is not None and remove_line(turn.state, key) is not None:
        turn.note(turn.t("conv.removed", line=line_text(turn, shown)))
    await show_cart(turn)
    return True


async def checkout_ready(
    turn: Turn, *, minimum: int | None = None, zone: str | None = None
) -> PricedCart | None:
    """Return the priced cart when it can be ordered, or reply why not and what to do.

    ``minimum`` defaults to the store's minimum order, and ``zone`` names the delivery zone
    whose minimum it is.
    """
    priced = await load_cart(turn)
    if not priced.lines:
        turn.note(turn.t("conv.checkout_empty"))
        await show_menu(turn)
        return None
    if priced.unavailable:
        names = ", ".join(line.name for line in priced.unavailable)
        turn.note(turn.t("conv.checkout_unavailable", names=names))
        await show_remove(turn)
        return None
    minimum = turn.store.minimum_order if minimum is None else minimum
    if priced.subtotal < minimum:
        turn.note(
            turn.t(
                "conv.below_zone_minimum" if zone else "conv.below_minimum",
                zone=zone,
                minimum=turn.money(minimum),
                subtotal=turn.money(priced.subtotal),
                missing=turn.money(minimum - priced.subtotal),
            )
        )
        await show_menu(turn)
        return None
    return priced


async def cancel_draft(turn: Turn) -> None:
    """Drop the item being configured and the checkout choices, keep the cart, show the menu."""
    turn.state.clear_draft()
    if turn.state.cart:
        count = sum(line.quantity for line in turn.state.cart)
        turn.note(turn.t("conv.cancelled_cart_kept", items=turn.item_count(count)))
    else:
        turn.note(turn.t("conv.cancelled"))
    await show_menu(turn)


async def empty_cart(turn: Turn) -> None:
    turn.state.cart = []
    turn.state.clear_draft()
    turn.note(turn.t("conv.emptied"))
    await show_menu(turn)


async def handle_no_free_text(turn: Turn, answer: Answer) -> bool:
    """Read nothing beyond the step's buttons, which are global actions."""
    return False
