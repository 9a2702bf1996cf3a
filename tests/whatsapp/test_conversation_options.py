"""Option groups: minimum and maximum choices, lists for many options, unavailable options."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tests.whatsapp.test_conversation_support import (
    Chat,
    body_text,
    kind_of,
    open_chat,
    option_ids,
    option_titles,
)
from zapora.catalog.cache import commit_and_publish
from zapora.catalog.changes import note_menu_change
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.config import Settings
from zapora.orders.models import Order


async def _make_acai(chat: Chat, session: AsyncSession) -> tuple[Item, list[Option]]:
    """An item whose toppings group needs 2 to 3 of 12 options, one of them unavailable."""
    store_id = chat.store.id
    category = Category(store_id=store_id, name="Açaí", position=5)
    session.add(category)
    await session.flush()
    acai = Item(store_id=store_id, category_id=category.id, name="Açaí 500 ml", price=2000)
    session.add(acai)
    await session.flush()
    toppings = OptionGroup(
        store_id=store_id, item_id=acai.id, name="Coberturas", min_choices=2, max_choices=3
    )
    session.add(toppings)
    await session.flush()
    options = [
        Option(
            store_id=store_id,
            group_id=toppings.id,
            name=f"Cobertura {number}",
            price=100 * number,
            position=number,
            is_available=number != 5,
        )
        for number in range(1, 13)
    ]
    session.add_all(options)
    await session.commit()
    return acai, options


async def test_multi_choice_min_and_max(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    acai, options = await _make_acai(chat, session)
    await chat.text("oi")

    first = await chat.one(await chat.tap(f"item:{acai.id}"))
    assert kind_of(first) == "list"
    assert "*Açaí 500 ml* — Coberturas: escolha de 2 a 3 opções, uma por vez." in body_text(first)
    ids = option_ids(first)
    # 11 available options do not fit with the "more" row: 8 per page plus "more".
    assert len(ids) == 9
    assert "opt:done" not in ids
    assert f"opt:{options[4].id}" not in ids
    assert ids[-1] == "page:next"
    second_page = await chat.one(await chat.tap("page:next"))
    assert f"opt:{options[11].id}" in option_ids(second_page)
    assert "page:prev" in option_ids(second_page)
    assert "Página 2 de 2" in body_text(second_page)
    await chat.tap("page:prev")

    too_few = await chat.one(await chat.text("pronto"))
    assert "Escolha pelo menos 2 em Coberturas." in body_text(too_few)

    after_one = await chat.one(await chat.tap(f"opt:{options[0].id}"))
    assert "Já escolhidas (1): Cobertura 1." in body_text(after_one)
    assert f"opt:{options[0].id}" not in option_ids(after_one)
    assert "opt:done" not in option_ids(after_one)
    assert "Escolha pelo menos 2" in body_text(await chat.one(await chat.text("pronto")))

    after_two = await chat.one(await chat.text("2"))  # the second row: Cobertura 3
    assert "Já escolhidas (2): Cobertura 1, Cobertura 3." in body_text(after_two)
    assert "opt:done" in option_ids(after_two)
    assert option_titles(after_two)[option_ids(after_two).index("opt:done")] == "Pronto ✓"

    # Nine options left plus "done" fit in one list again.
    assert len(option_ids(after_two)) == 10
    assert "page:next" not in option_ids(after_two)
    assert f"opt:{options[11].id}" in option_ids(after_two)
    quantity = await chat.one(await chat.tap(f"opt:{options[11].id}"))
    assert option_ids(quantity) == ["qty:1", "qty:2", "qty:3"]
    details = "Açaí 500 ml — R$ 36,00 cada\n↳ Cobertura 1, Cobertura 3, Cobertura 12"
    assert details in body_text(quantity)

    await chat.tap("qty:1")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")
    await chat.tap("ok:confirm")
    order = await session.scalar(select(Order).options(selectinload(Order.lines)))
    assert order is not None
    assert order.subtotal == 3600
    assert [option["name"] for option in order.lines[0].options] == [
        "Cobertura 1",
        "Cobertura 3",
        "Cobertura 12",
    ]


async def test_done_after_minimum(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    acai, options = await _make_acai(chat, session)
    await chat.text("oi")
    await chat.tap(f"item:{acai.id}")
    await chat.tap(f"opt:{options[0].id}")
    await chat.tap(f"opt:{options[1].id}")
    quantity = await chat.one(await chat.text("Pronto"))
    assert "— R$ 23,00 cada\n↳ Cobertura 1, Cobertura 2" in body_text(quantity)


async def test_single_choice_required(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    size = await chat.one(await chat.tap(f"item:{menu.pizza.id}"))
    assert "*Margherita* — Size: escolha uma opção." in body_text(size)
    assert "opt:done" not in option_ids(size)
    skipped = await chat.one(await chat.text("pular"))
    assert "Escolha pelo menos 1 em Size." in body_text(skipped)
    assert option_ids(skipped) == [f"opt:{menu.small.id}", f"opt:{menu.large.id}"]
    # A tap on the other group's option is not an answer to this question.
    stale = await chat.one(await chat.tap(f"opt:{menu.cheese.id}"))
    assert "Não entendi" in body_text(stale)


async def test_item_with_unmet_minimum_is_unavailable(
    session: AsyncSession, settings: Settings
) -> None:
    chat, menu = await open_chat(session, settings)
    menu.small.is_available = False
    menu.large.is_available = False
    await session.commit()
    await chat.text("oi")
    items = await chat.one(await chat.tap(f"cat:{menu.category.id}"))
    assert option_ids(items) == [f"item:{menu.soda.id}", "act:menu"]

    # A tap on an older list that still showed the item.
    reply = await chat.one(await chat.tap(f"item:{menu.pizza.id}"))
    assert "*Margherita* está indisponível no momento" in body_text(reply)
    assert option_ids(reply) == [f"item:{menu.soda.id}", "act:menu"]


async def test_category_of_unorderable_items_hidden(
    session: AsyncSession, settings: Settings
) -> None:
    chat, menu = await open_chat(session, settings)
    acai, options = await _make_acai(chat, session)
    # Two of the twelve toppings stay available, so the minimum of two can still be met.
    for option in options[2:]:
        option.is_available = False
    await session.commit()
    welcome = await chat.one(await chat.text("oi"))
    assert option_ids(welcome) == [f"cat:{menu.category.id}", f"cat:{acai.category_id}"]

    # Published the way a catalog write through the API is, so the cached menu is replaced.
    options[1].is_available = False
    note_menu_change(session, chat.store.id)
    await commit_and_publish(session)
    menu_list = await chat.one(await chat.text("menu"))
    assert option_ids(menu_list) == [f"cat:{menu.category.id}"]
    stale = await chat.one(await chat.tap(f"cat:{acai.category_id}"))
    assert "Essa categoria não tem itens disponíveis agora." in body_text(stale)
    assert option_ids(stale) == [f"cat:{menu.category.id}"]


async def test_unavailable_option_is_hidden(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    menu.large.is_available = False
    await session.commit()
    await chat.text("oi")
    size = await chat.one(await chat.tap(f"item:{menu.pizza.id}"))
    assert option_ids(size) == [f"opt:{menu.small.id}"]
    assert "Large" not in body_text(size)


async def _make_poke(chat: Chat, session: AsyncSession) -> tuple[Item, list[Option]]:
    """An item whose one group takes up to 20 of 20 options with names of about 110 characters."""
    store_id = chat.store.id
    category = Category(store_id=store_id, name="Poke", position=6)
    session.add(category)
    await session.flush()
    poke = Item(store_id=store_id, category_id=category.id, name="Poke " + "P" * 115, price=3000)
    session.add(poke)
    await session.flush()
    group = OptionGroup(
        store_id=store_id, item_id=poke.id, name="G" * 120, min_choices=0, max_choices=20
    )
    session.add(group)
    await session.flush()
    options = [
        Option(
            store_id=store_id,
            group_id=group.id,
            name=f"Ingrediente {number:02d} " + "com um nome bem comprido " * 4,
            price=100,
            position=number,
        )
        for number in range(20)
    ]
    session.add_all(options)
    await session.commit()
    return poke, options


async def test_many_long_choices_fit(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    poke, options = await _make_poke(chat, session)
    assert all(len(option.name) > 100 for option in options)
    await chat.text("oi")
    # Chat.send checks every reply against the 1,024-character body limit.
    question = await chat.one(await chat.tap(f"item:{poke.id}"))
    for picked in range(1, 20):
        first_option = next(row for row in option_ids(question) if row != "opt:done")
        question = await chat.one(await chat.tap(first_option))
        text = body_text(question)
        assert f"Já escolhidas ({picked}): Ingrediente 00" in text
        # Four shortened names fit; the others are only counted.
        assert "Ingrediente 04" not in text
        if picked > 4:
            assert f"Ingrediente 03 com um nome bem comprido… e mais {picked - 4}." in text
    replies = await chat.tap(option_ids(question)[0])
    assert "Quantas unidades de *Poke" in body_text(replies[-1])
    assert "Ingrediente 19" in "\n".join(body_text(reply) for reply in replies)

    await chat.tap("qty:1")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")
    await chat.tap("ok:confirm")
    order = await session.scalar(select(Order).options(selectinload(Order.lines)))
    assert order is not None
    assert len(order.lines[0].options) == 20
    assert order.subtotal == 5000
