"""Server-side prices: amounts come from the catalog and the delivery zones, never the request."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from zapora.catalog.models import Item, Option, OptionGroup
from zapora.driver_sql import DriverStatement
from zapora.errors import InvalidInputError
from zapora.orders.errors import ItemUnavailableError
from zapora.orders.models import Fulfilment
from zapora.stores import zones_service
from zapora.stores.models import DeliveryZone, Store, TypedAddressPolicy
from zapora.stores.terms_cache import StoreTermsCache

MAX_QUANTITY = 99


@dataclass(frozen=True)
class LineRequest:
    item_id: uuid.UUID
    quantity: int
    option_ids: Sequence[uuid.UUID] = ()
    notes: str | None = None


@dataclass
class PricedLine:
    item_id: uuid.UUID
    name: str
    unit_price: int
    quantity: int
    options: list[dict[str, Any]] = field(default_factory=list)
    notes: str | None = None

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


async def load_items(
    session: AsyncSession, store_id: uuid.UUID, item_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Item]:
    """Load a store's items with their option groups and options, keyed by id."""
    if not item_ids:
        return {}
    # One query joins the groups and options, instead of one more query for each level.
    rows = await session.scalars(
        select(Item)
        .where(Item.store_id == store_id, Item.id.in_(item_ids))
        .options(joinedload(Item.option_groups).joinedload(OptionGroup.options))
    )
    return {item.id: item for item in rows.unique()}


@dataclass(slots=True)
class OptionPrice:
    id: uuid.UUID
    name: str
    price: int
    is_available: bool


@dataclass(slots=True)
class OptionGroupRules:
    name: str
    min_choices: int
    max_choices: int
    options: list[OptionPrice] = field(default_factory=list)


@dataclass(slots=True)
class ItemPrices:
    """Price, availability and option rules of an item, as pricing reads them."""

    id: uuid.UUID
    name: str
    price: int
    is_available: bool
    option_groups: list[OptionGroupRules] = field(default_factory=list)


_PRICES_COLUMNS = (
    Item.id,
    Item.name,
    Item.price,
    Item.is_available,
    OptionGroup.id.label("group_id"),
    OptionGroup.name.label("group_name"),
    OptionGroup.min_choices,
    OptionGroup.max_choices,
    Option.id.label("option_id"),
    Option.name.label("option_name"),
    Option.price.label("option_price"),
    Option.is_available.label("option_is_available"),
)


def _item_prices_query(*, array: bool) -> Select[*tuple[Any, ...]]:
    """Build the pricing query, with the item ids as an array parameter or an ``IN`` list."""
    if array:
        ids = bindparam("item_ids", type_=postgresql.ARRAY(Item.id.type))
        matches_id = Item.id == any_(ids)
    else:
        matches_id = Item.id.in_(bindparam("item_ids", expanding=True))
    return (
        select(*_PRICES_COLUMNS)
        .outerjoin(OptionGroup, OptionGroup.item_id == Item.id)
        .outerjoin(Option, Option.group_id == OptionGroup.id)
        .where(Item.store_id == bindparam("store_id"), matches_id)
        .order_by(Item.id, OptionGroup.position, OptionGroup.id, Option.position)
    )


# Built once, with only its parameters changing, so no call pays for building the statement
# or for working out its cache key. PostgreSQL runs it on the driver's connection.
_ITEM_PRICES_QUERY = _item_prices_query(array=False)
_ITEM_PRICES_DRIVER = DriverStatement(_item_prices_query(array=True))


async def load_item_prices(
    session: AsyncSession, store_id: uuid.UUID, item_ids: set[uuid.UUID]
) -> dict[uuid.UUID, ItemPrices]:
    """Load the prices and option rules of a store's items, keyed by item id.

    One query reads plain rows with the groups and options joined in, in menu order. No
    catalog objects are built, because pricing only reads these values.
    """
    if not item_ids:
        return {}
    values = {"store_id": store_id, "item_ids": list(item_ids)}
    rows: Iterable[Any]
    if session.get_bind().dialect.name == "postgresql":
        rows = await _ITEM_PRICES_DRIVER.fetch(session, values)
    else:
        rows = (await session.execute(_ITEM_PRICES_QUERY, values)).mappings()
    items: dict[uuid.UUID, ItemPrices] = {}
    groups: dict[uuid.UUID, OptionGroupRules] = {}
    for row in rows:
        item_id = row["id"]
        item = items.get(item_id)
        if item is None:
            item = items[item_id] = ItemPrices(
                item_id, row["name"], row["price"], row["is_available"]
            )
        group_id = row["group_id"]
        if group_id is None:
            continue
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = OptionGroupRules(
                row["group_name"], row["min_choices"], row["max_choices"]
            )
            item.option_groups.append(group)
        if row["option_id"] is not None:
            group.options.append(
                OptionPrice(
                    row["option_id"],
                    row["option_name"],
                    row["option_price"],
                    row["option_is_available"],
                )
            )
    return items


def price_line(item: Item | ItemPrices, line: LineRequest, prefix: str) -> PricedLine:
    """Check one line against its item's option rules and return it priced."""
    if not item.is_available:
        raise ItemUnavailableError(
            f"'{item.name}' is unavailable right now.",
            field=f"{prefix}.item_id",
            fix="remove this item or choose another",
        )
    if not 1 <= line.quantity <= MAX_QUANTITY:
        raise InvalidInputError(
            f"Quantity {line.quantity} is out of range.",
            field=f"{prefix}.quantity",
            fix=f"send a quantity from 1 to {MAX_QUANTITY}",
        )
    if len(set(line.option_ids)) != len(line.option_ids):
        raise InvalidInputError(
            "An option is chosen twice.", field=f"{prefix}.option_ids", fix="send each option once"
        )
    chosen = set(line.option_ids)
    options: list[dict[str, Any]] = []
    unit_price = item.price
    for group in item.option_groups:
        picked = [option for option in group.options if option.id in chosen]
        chosen -= {option.id for option in picked}
        if not group.min_choices <= len(picked) <= group.max_choices:
            raise InvalidInputError(
                f"'{group.name}' needs {group.min_choices} to {group.max_choices} choices "
                f"and got {len(picked)}.",
                field=f"{prefix}.option_ids",
                fix=f"choose between {group.min_choices} and {group.max_choices} of '{group.name}'",
            )
        for option in picked:
            if not option.is_available:
                raise ItemUnavailableError(
                    f"The option '{option.name}' is unavailable right now.",
                    field=f"{prefix}.option_ids",
                    fix="choose another option",
                )
            unit_price += option.price
            options.append(
                {
                    "option_id": str(option.id),
                    "group": group.name,
                    "name": option.name,
                    "price": option.price,
                }
            )
    if chosen:
        unknown = ", ".join(sorted(str(option_id) for option_id in chosen))
        raise InvalidInputError(
            f"Options {unknown} do not belong to '{item.name}'.",
            field=f"{prefix}.option_ids",
            fix="send option ids from this item's option groups",
        )
    return PricedLine(
        item_id=item.id,
        name=item.name,
        unit_price=unit_price,
        quantity=line.quantity,
        options=options,
        notes=line.notes,
    )


async def price_lines(
    session: AsyncSession, store_id: uuid.UUID, lines: Sequence[LineRequest]
) -> list[PricedLine]:
    items = await load_item_prices(session, store_id, {line.item_id for line in lines})
    priced = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        item = items.get(line.item_id)
        if item is None:
            raise InvalidInputError(
                f"Item {line.item_id} not found in this store.",
                field=f"{prefix}.item_id",
                fix="send an item id from this store's menu",
            )
        priced.append(price_line(item, line, prefix))
    return priced


class LocationRequiredError(InvalidInputError):
    """A typed address in a store that prices delivery by zone and takes pins only."""

    code = "location_required"
    title = "Location required"


@dataclass(frozen=True)
class DeliveryTerms:
    """The fee, minimum order and delivery estimate of an order, as copied onto it.

    ``zone`` is None for pickup, for a store without active zones (its flat fee applies)
    and for a typed address. ``fee_pending`` marks the flat fee as provisional until staff
    confirm the fee for a typed address.
    """

    fee: int
    minimum_order: int
    zone: DeliveryZone | None = None
    estimate_minutes: int | None = None
    fee_pending: bool = False


async def delivery_terms(
    session: AsyncSession,
    store: Store,
    fulfilment: Fulfilment,
    latitude: float | None,
    longitude: float | None,
    *,
    terms_cache: StoreTermsCache | None = None,
) -> DeliveryTerms:
    """Return the fee, minimum order and estimate of receiving an order this way.

    Both order placement and the WhatsApp checkout call this, so the summary a customer
    confirms shows the values stored on the order. Raise OutsideDeliveryAreaError for a
    pin outside every zone, and LocationRequiredError for a typed address in a store with
    zones whose policy is ``refuse``. With ``terms_cache`` whether the store has active
    zones may come from the copy this process keeps.
    """
    if fulfilment is Fulfilment.PICKUP:
        return DeliveryTerms(fee=0, minimum_order=store.minimum_order)
    if latitude is not None and longitude is not None:
        quote = await zones_service.quote(session, store, latitude, longitude)
        return DeliveryTerms(
            fee=quote.fee,
            minimum_order=quote.minimum_order,
            zone=quote.zone,
            estimate_minutes=quote.estimate_minutes,
        )
    if terms_cache is None:
        zoned = await zones_service.has_active_zones(session, store.id)
    else:
        zoned = await terms_cache.has_active_zones(session, store.id)
    if not zoned:
        return DeliveryTerms(fee=store.delivery_fee, minimum_order=store.minimum_order)
    if store.typed_address_policy == TypedAddressPolicy.REFUSE.value:
        raise LocationRequiredError(
            "This store prices delivery by location and needs a location pin.",
            field="address_text",
            fix="send latitude and longitude of the delivery address",
        )
    return DeliveryTerms(
        fee=store.delivery_fee, minimum_order=store.minimum_order, fee_pending=True
    )
