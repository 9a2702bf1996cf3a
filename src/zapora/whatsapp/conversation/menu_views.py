"""Browsing the menu: the welcome, the category list and a category's items."""

from __future__ import annotations

from zapora.whatsapp.conversation.parsing import BACK_WORDS, NEXT_WORDS
from zapora.whatsapp.conversation.queries import (
    MenuItemView,
    get_category,
    list_available_items,
    list_menu_categories,
    parse_id,
)
from zapora.whatsapp.conversation.state import Step
from zapora.whatsapp.conversation.turn import PAGE_NEXT, PAGE_PREV, Answer, Page, Turn
from zapora.whatsapp.messages import ListRow

CATEGORY_PREFIX = "cat:"
ITEM_PREFIX = "item:"
ACTION_MENU = "act:menu"


def go(turn: Turn, step: Step) -> None:
    """Move to ``step``; a new step starts on its first page."""
    if turn.state.step is not step:
        turn.state.page = 0
    turn.state.step = step


def with_page_info(turn: Turn, question: str, page: Page) -> str:
    if page.count == 1:
        return question
    info = turn.t("conv.page_info", number=page.number + 1, count=page.count)
    return f"{question}\n{info}"


async def show_welcome(turn: Turn) -> None:
    name = (turn.customer.profile_name or "").strip()
    if name:
        turn.note(turn.t("conv.welcome_named", name=name, store=turn.store.name))
    else:
        turn.note(turn.t("conv.welcome", store=turn.store.name))
    turn.state.pending = None
    await show_menu(turn)


async def show_menu(turn: Turn) -> None:
    """Show the categories that have something to sell, as a paged list."""
    categories = await list_menu_categories(turn.session, turn.store.id)
    if not categories:
        go(turn, Step.IDLE)
        turn.note(turn.t("conv.menu_empty", store=turn.store.name))
        return
    go(turn, Step.MENU)
    rows = [ListRow(f"{CATEGORY_PREFIX}{category.id}", category.name) for category in categories]
    page = turn.page(rows)
    question = with_page_info(turn, turn.t("conv.choose_category"), page)
    turn.ask_list(question, turn.t("conv.menu_button"), page.rows)


def item_row(turn: Turn, item: MenuItemView) -> ListRow:
    price = turn.money(item.price)
    description = f"{price} · {item.description.strip()}" if item.description.strip() else price
    return ListRow(f"{ITEM_PREFIX}{item.id}", item.name, " ".join(description.split()))


async def open_category(turn: Turn, category_id: str) -> None:
    """Show a category from its first page."""
    if turn.state.step is not Step.CATEGORY or turn.state.category_id != category_id:
        turn.state.page = 0
    turn.state.category_id = category_id
    await show_category(turn)


async def show_category(turn: Turn) -> None:
    """Show the current category's available items, or the menu when there are none."""
    category_id = parse_id(turn.state.category_id)
    category = None
    if category_id is not None:
        category = await get_category(turn.session, turn.store.id, category_id)
    items: tuple[MenuItemView, ...] = ()
    if category is not None:
        items = await list_available_items(turn.session, turn.store.id, category.id)
    if category is None or not items:
        turn.note(turn.t("conv.category_missing"))
        await show_menu(turn)
        return
    go(turn, Step.CATEGORY)
    back = ListRow(ACTION_MENU, turn.t("conv.back_to_categories"))
    page = turn.page([item_row(turn, item) for item in items], extra=[back])
    question = with_page_info(turn, turn.t("conv.category_question", category=category.name), page)
    turn.ask_list(question, turn.t("conv.items_button"), page.rows)


def page_move(answer: Answer) -> int:
    """Return +1 for "more", -1 for "back", 0 for anything else."""
    if answer.choice == PAGE_NEXT or answer.text in NEXT_WORDS:
        return 1
    if answer.choice == PAGE_PREV or answer.text in BACK_WORDS:
        return -1
    return 0


async def handle_menu(turn: Turn, answer: Answer) -> bool:
    move = page_move(answer)
    if not move:
        return False
    turn.state.page += move
    await show_menu(turn)
    return True


async def handle_category(turn: Turn, answer: Answer) -> bool:
    move = page_move(answer)
    if not move:
        return False
    if move < 0 and turn.state.page == 0:
        await show_menu(turn)
        return True
    turn.state.page += move
    await show_category(turn)
    return True
