"""The cart: paging long lists, viewing, removing lines, emptying, and checkout guards."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.whatsapp.test_conversation_support import (
    body_text,
    kind_of,
    open_chat,
    option_ids,
    option_titles,
    row_descriptions,
)
from zapora.catalog.models import Category, Item
from zapora.config import Settings
from zapora.orders.models import Order
from zapora.whatsapp.models import Conversation


async def _add_category(session: AsyncSession, store_id: object, size: int) -> list[Item]:
    category = Category(store_id=store_id, name="Bebidas", position=2)
    session.add(category)
    await session.flush()
    items = [
        Item(
            store_id=store_id,
            category_id=category.id,
            name=f"Suco número {number:02d} com nome comprido",
            description="Natural, 500 ml, feito na hora com frutas da estação " * 2,
            price=700 + number,
            position=number,
        )
        for number in range(size)
    ]
    items.append(
        Item(
            store_id=store_id,
            category_id=category.id,
            name="Suco esgotado",
            price=700,
            position=size,
            is_available=False,
        )
    )
    session.add_all(items)
    await session.commit()
    return items[:size]


async def test_category_pages(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    items = await _add_category(session, chat.store.id, 25)
    category_id = items[0].category_id
    await chat.text("oi")

    page = await chat.one(await chat.tap(f"cat:{category_id}"))
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        ids = option_ids(page)
        assert len(ids) <= 10
        assert option_titles(page)[ids.index("act:menu")] == "‹ Categorias"
        seen += [row_id for row_id in ids if row_id.startswith("item:")]
        if pages > 1:
            assert "page:prev" in ids
        if "page:next" not in ids:
            break
        assert option_titles(page)[ids.index("page:next")] == "Mais itens ›"
        # Alternate taps and typed words to cover both ways of paging.
        if pages % 2:
            page = await chat.one(await chat.tap("page:next"))
        else:
            page = await chat.one(await chat.text("mais"))
    assert pages == 4
    assert seen == [f"item:{item.id}" for item in items]
    assert "Página 4 de 4" in body_text(page)

    back = await chat.one(await chat.text("voltar"))
    assert "Página 3 de 4" in body_text(back)
    # Seven items per page: the second row of page 3 is the sixteenth item.
    by_number = await chat.one(await chat.text("2"))
    assert "Quantas unidades de *Suco número 15" in body_text(by_number)


async def test_category_first_page_leads_back(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    items = await _add_category(session, chat.store.id, 25)
    await chat.text("oi")
    first = await chat.one(await chat.tap(f"cat:{items[0].category_id}"))
    ids = option_ids(first)
    assert "page:prev" not in ids
    assert ids[-2:] == ["act:menu", "page:next"]

    categories = await chat.one(await chat.tap("act:menu"))
    assert option_ids(categories) == [f"cat:{menu.category.id}", f"cat:{items[0].category_id}"]
    assert "Escolha uma categoria" in body_text(categories)


async def test_long_names_are_shortened(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    items = await _add_category(session, chat.store.id, 2)
    await chat.text("oi")
    page = await chat.one(await chat.tap(f"cat:{items[0].category_id}"))
    titles = option_titles(page)
    assert titles[0] == "Suco número 00 com nome…"
    assert all(len(title) <= 24 for title in titles)


async def test_cart_view_and_removal(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.pizza.id}")
    await chat.tap(f"opt:{menu.small.id}")
    await chat.tap("opt:done")
    await chat.tap("qty:1")
    await chat.tap(f"item:{menu.soda.id}")
    added = await chat.one(await chat.tap("qty:2"))
    assert "Subtotal do carrinho: R$ 42,00" in body_text(added)
    # The same item with the same options merges into one line.
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:1")

    cart = await chat.one(await chat.tap("act:cart"))
    assert option_ids(cart) == ["act:checkout", "act:more", "act:remove"]
    text = body_text(cart)
    assert "1x Margherita — R$ 30,00\n↳ Small\n3x Soda — R$ 18,00" in text
    assert "Subtotal: R$ 48,00" in text

    removal = await chat.one(await chat.tap("act:remove"))
    assert kind_of(removal) == "list"
    ids = option_ids(removal)
    assert len(ids) == 3
    assert ids[-1] == "act:empty"
    assert option_titles(removal)[:2] == ["1x Margherita", "3x Soda"]
    assert row_descriptions(removal)[:2] == ["R$ 30,00 · Small", "R$ 18,00"]

    after = await chat.one(await chat.tap(ids[0]))
    assert "Removido: 1x Margherita — R$ 30,00\n↳ Small" in body_text(after)
    assert "Margherita" not in body_text(after).split("Seu carrinho")[1]
    assert "Subtotal: R$ 18,00" in body_text(after)

    emptied = await chat.one(await chat.text("esvaziar"))
    assert "seu carrinho foi esvaziado" in body_text(emptied)
    assert option_ids(emptied) == [f"cat:{menu.category.id}"]

    empty = await chat.one(await chat.text("carrinho"))
    assert "Seu carrinho está vazio" in body_text(empty)
    assert option_ids(empty) == [f"cat:{menu.category.id}"]
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.data["cart"] == []


async def test_remove_by_number(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.text("carrinho")
    await chat.text("3")  # third button: remove
    after = await chat.one(await chat.text("1"))
    assert "Removido: 2x Soda" in body_text(after)
    assert "Seu carrinho está vazio" in body_text(after)


async def test_checkout_with_empty_cart(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    reply = await chat.one(await chat.text("finalizar"))
    assert "Seu carrinho está vazio" in body_text(reply)
    assert option_ids(reply) == [f"cat:{menu.category.id}"]


async def test_checkout_below_minimum(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings, minimum_order=5000)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:1")
    reply = await chat.one(await chat.tap("act:checkout"))
    text = body_text(reply)
    assert "O pedido mínimo é R$ 50,00" in text
    assert "Seu subtotal é R$ 6,00" in text
    assert "faltam R$ 44,00" in text
    assert option_ids(reply) == [f"cat:{menu.category.id}"]
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert len(conversation.data["cart"]) == 1
    orders = await session.scalar(select(func.count()).select_from(Order))
    assert orders == 0
