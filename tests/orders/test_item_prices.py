"""The rows pricing reads agree with the catalog objects, option groups and options in order."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_menu, make_store
from zapora.catalog.models import OptionGroup
from zapora.orders.pricing import load_item_prices, load_items


async def test_item_prices_match_catalog(session: AsyncSession) -> None:
    store = await make_store(session)
    menu = await make_menu(session, store)
    # A group left without options still counts for its choice rules.
    session.add(
        OptionGroup(
            store_id=store.id,
            item_id=menu.pizza.id,
            name="Dip",
            min_choices=0,
            max_choices=1,
            position=3,
        )
    )
    await session.commit()
    requested_ids = {menu.pizza.id, menu.soda.id, menu.sold_out.id, uuid.uuid4()}

    prices = await load_item_prices(session, store.id, requested_ids)
    session.expunge_all()
    items = await load_items(session, store.id, requested_ids)

    assert prices.keys() == items.keys() == {menu.pizza.id, menu.soda.id, menu.sold_out.id}
    for item_id, item in items.items():
        read = prices[item_id]
        assert (read.name, read.price, read.is_available) == (
            item.name,
            item.price,
            item.is_available,
        )
        assert [
            (group.name, group.min_choices, group.max_choices) for group in read.option_groups
        ] == [(group.name, group.min_choices, group.max_choices) for group in item.option_groups]
        assert [
            [
                (option.id, option.name, option.price, option.is_available)
                for option in group.options
            ]
            for group in read.option_groups
        ] == [
            [
                (option.id, option.name, option.price, option.is_available)
                for option in group.options
            ]
            for group in item.option_groups
        ]
    assert [group.name for group in prices[menu.pizza.id].option_groups] == [
        "Size",
        "Extras",
        "Dip",
    ]
    assert prices[menu.pizza.id].option_groups[2].options == []
    assert prices[menu.soda.id].option_groups == []


async def test_empty_ids_return_nothing(session: AsyncSession) -> None:
    store = await make_store(session)
    await session.commit()

    assert await load_item_prices(session, store.id, set()) == {}
