"""Configuring an item: its option groups one by one, then the quantity."""

from __future__ import annotations

from zapora.whatsapp.conversation.cart import (
    MAX_CART_LINES,
    CartFullError,
    QuantityLimitError,
    add_line,
    options_text,
)
from zapora.whatsapp.conversation.cart_steps import show_added, show_cart
from zapora.whatsapp.conversation.menu_views import (
    go,
    page_move,
    show_category,
    show_menu,
    with_page_info,
)
from zapora.whatsapp.conversation.parsing import DONE_WORDS, MAX_QUANTITY, parse_quantity
from zapora.whatsapp.conversation.queries import (
    MenuGroupView,
    MenuItemView,
    MenuOptionView,
    get_item_with_options,
    parse_id,
)
from zapora.whatsapp.conversation.state import PendingItem, Step
from zapora.whatsapp.conversation.turn import Answer, Turn
from zapora.whatsapp.messages import ListRow, buttons_fit, truncate

OPTION_PREFIX = "opt:"
OPTION_DONE = "opt:done"
QUANTITY_PREFIX = "qty:"
QUANTITY_BUTTONS = (1, 2, 3)
# With item and group names of at most 120 characters each, these keep an option question,
# three priced options included, under the 1,024-character interactive body limit.
PICKED_NAME_MAX = 40
PICKED_NAMES_MAX = 200


def _offered(group: MenuGroupView) -> list[MenuOptionView]:
    return [option for option in group.options if option.is_available]


def _picked(group: MenuGroupView, pending: PendingItem) -> list[MenuOptionView]:
    return [option for option in group.options if str(option.id) in pending.option_ids]


def is_orderable(item: MenuItemView) -> bool:
    """Return whether the item is available and every group can meet its minimum."""
    groups_ok = all(len(_offered(group)) >= group.min_choices for group in item.option_groups)
    return item.is_available and groups_ok


async def _load_pending_item(turn: Turn) -> MenuItemView | None:
    pending = turn.state.pending
    item_id = parse_id(pending.item_id) if pending else None
    if item_id is None:
        return None
    return await get_item_with_options(turn.session, turn.store.id, item_id)


async def _abandon_item(turn: Turn, item: MenuItemView | None) -> None:
    turn.state.pending = None
    if item is None:
        turn.note(turn.t("conv.item_missing"))
        await show_menu(turn)
        return
    turn.note(turn.t("conv.item_unavailable", item=item.name))
    turn.state.category_id = str(item.category_id)
    await show_category(turn)


async def start_item(turn: Turn, item_id_text: str) -> None:
    """Begin configuring an item chosen from a list or typed by number."""
    item_id = parse_id(item_id_text)
    item = None
    if item_id is not None:
        item = await get_item_with_options(turn.session, turn.store.id, item_id)
    if item is None or not is_orderable(item):
        await _abandon_item(turn, item)
        return
    turn.state.pending = PendingItem(item_id=str(item.id))
    turn.state.category_id = str(item.category_id)
    await ask_options(turn, item)


def _option_price(turn: Turn, option: MenuOptionView) -> str:
    if option.price == 0:
        return turn.t("conv.option_free")
    return turn.t("conv.option_price", price=turn.money(option.price))


def _option_question(
    turn: Turn, item: MenuItemView, group: MenuGroupView, picked: list[MenuOptionView]
) -> str:
    if group.max_choices <= 1:
        key = "conv.option_pick_one" if group.min_choices else "conv.option_pick_optional"
    elif group.min_choices == group.max_choices:
        key = "conv.option_pick_exactly"
    elif group.min_choices:
        key = "conv.option_pick_range"
    else:
        key = "conv.option_pick_up_to"
    question = turn.t(
        key, item=item.name, group=group.name, min=group.min_choices, max=group.max_choices
    )
    if picked:
        question += "\n" + _picked_text(turn, picked)
    return question


def _picked_text(turn: Turn, picked: list[MenuOptionView]) -> str:
    """List the options chosen so far, shortened so the question stays within its limit.

    Names are cut to ``PICKED_NAME_MAX`` characters and listed until they fill
    ``PICKED_NAMES_MAX`` characters, and the rest are only counted.
    """
    names: list[str] = []
    length = 0
    for option in picked:
        name = truncate(option.name, PICKED_NAME_MAX)
        if names and length + len(name) > PICKED_NAMES_MAX:
            break
        names.append(name)
        length += len(name) + len(", ")
    listed = ", ".join(names)
    if len(names) < len(picked):
        listed = turn.t("conv.option_picked_more", names=listed, count=len(picked) - len(names))
    return turn.t("conv.option_picked", count=len(picked), names=listed)


def _current_group(item: MenuItemView, pending: PendingItem) -> MenuGroupView | None:
    """Skip groups with nothing to offer or already complete; return the one to ask."""
    groups = item.option_groups
    while pending.group_index < len(groups):
        group = groups[pending.group_index]
        picked = _picked(group, pending)
        remaining = [option for option in _offered(group) if option not in picked]
        if remaining and len(picked) < group.max_choices:
            return group
        pending.group_index += 1
    return None


async def ask_options(turn: Turn, item: MenuItemView) -> None:
    """Ask the next option group, as buttons when three fit, or the quantity when done."""
    pending = turn.state.pending
    assert pending is not None
    group = _current_group(item, pending)
    if group is None:
        await ask_quantity(turn, item)
        return
    go(turn, Step.OPTIONS)
    picked = _picked(group, pending)
    remaining = [option for option in _offered(group) if option not in picked]
    extra: list[tuple[str, str]] = []
    if len(picked) >= group.min_choices:
        extra.append((OPTION_DONE, turn.t("conv.option_done" if picked else "conv.option_skip")))
    question = _option_question(turn, item, group, picked)
    buttons = [(f"{OPTION_PREFIX}{option.id}", option.name) for option in remaining] + extra
    if buttons_fit([title for _, title in buttons]):
        prices = [f"• {option.name} — {_option_price(turn, option)}" for option in remaining]
        turn.ask_buttons("\n".join([question, *prices]), buttons)
        return
    rows = [
        ListRow(f"{OPTION_PREFIX}{option.id}", option.name, _option_price(turn, option))
        for option in remaining
    ]
    page = turn.page(rows, extra=[ListRow(button_id, title) for button_id, title in extra])
    question = with_page_info(turn, question, page)
    turn.ask_list(question, turn.t("conv.option_button"), page.rows)


def _next_group(turn: Turn, pending: PendingItem) -> None:
    pending.group_index += 1
    turn.state.page = 0


async def _pending_item(turn: Turn) -> tuple[MenuItemView, PendingItem] | None:
    """Reload the item being configured; when it is gone or unavailable, say so and move on."""
    item = await _load_pending_item(turn)
    pending = turn.state.pending
    if item is None or pending is None or not is_orderable(item):
        await _abandon_item(turn, item)
        return None
    return item, pending


async def render_options(turn: Turn) -> None:
    if loaded := await _pending_item(turn):
        await ask_options(turn, loaded[0])


async def render_quantity(turn: Turn) -> None:
    if loaded := await _pending_item(turn):
        await ask_quantity(turn, loaded[0])


async def handle_options(turn: Turn, answer: Answer) -> bool:
    loaded = await _pending_item(turn)
    if loaded is None:
        return True
    item, pending = loaded
    group = _current_group(item, pending)
    if group is None:
        await ask_quantity(turn, item)
        return True
    picked = _picked(group, pending)
    if move := page_move(answer):
        turn.state.page += move
    elif answer.choice == OPTION_DONE or answer.text in DONE_WORDS:
        if len(picked) < group.min_choices:
            turn.note(turn.t("conv.option_need_more", min=group.min_choices, group=group.name))
        else:
            _next_group(turn, pending)
    elif answer.choice and answer.choice.startswith(OPTION_PREFIX):
        option = next((o for o in group.options if f"{OPTION_PREFIX}{o.id}" == answer.choice), None)
        if option is None or not option.is_available or option in picked:
            turn.note(turn.t("conv.option_unavailable"))
        else:
            pending.option_ids.append(str(option.id))
            if len(picked) + 1 >= group.max_choices:
                _next_group(turn, pending)
    else:
        return False
    await ask_options(turn, item)
    return True


def _chosen_options(item: MenuItemView, pending: PendingItem) -> list[MenuOptionView]:
    return [option for group in item.option_groups for option in _picked(group, pending)]


async def ask_quantity(turn: Turn, item: MenuItemView) -> None:
    pending = turn.state.pending
    assert pending is not None
    go(turn, Step.QUANTITY)
    chosen = _chosen_options(item, pending)
    unit_price = item.price + sum(option.price for option in chosen)
    details = turn.t("conv.quantity_details", item=item.name, price=turn.money(unit_price))
    details += options_text([option.name for option in chosen])
    buttons = [(f"{QUANTITY_PREFIX}{number}", str(number)) for number in QUANTITY_BUTTONS]
    question = turn.t("conv.quantity_question", item=item.name, max=MAX_QUANTITY)
    turn.ask_buttons(question, buttons, details=details)


def _read_quantity(answer: Answer) -> int | None:
    if answer.choice and answer.choice.startswith(QUANTITY_PREFIX):
        return parse_quantity(answer.choice.removeprefix(QUANTITY_PREFIX))
    return parse_quantity(answer.text)


async def handle_quantity(turn: Turn, answer: Answer) -> bool:
    loaded = await _pending_item(turn)
    if loaded is None:
        return True
    item, pending = loaded
    quantity = _read_quantity(answer)
    if quantity is None:
        if not answer.text:
            return False
        turn.note(turn.t("conv.quantity_invalid", max=MAX_QUANTITY))
        await ask_quantity(turn, item)
        return True
    option_ids = [str(option.id) for option in _chosen_options(item, pending)]
    try:
        add_line(turn.state, str(item.id), option_ids, quantity)
    except QuantityLimitError:
        turn.note(turn.t("conv.quantity_limit", max=MAX_QUANTITY))
        await ask_quantity(turn, item)
        return True
    except CartFullError:
        turn.state.pending = None
        turn.note(turn.t("conv.cart_full", max=MAX_CART_LINES))
        await show_cart(turn)
        return True
    turn.state.pending = None
    await show_added(turn, item.id, option_ids, quantity)
    return True
