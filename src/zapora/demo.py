"""The demo store: a pizzeria with a full menu and a manager, for trying Zapora locally."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import Role, User
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.config import Settings
from zapora.db import create_engine, create_session_factory
from zapora.errors import ConflictError
from zapora.stores.models import DeliveryZone, Language, Store, ZoneKind
from zapora.stores.terms_cache import commit_and_publish_terms, create_terms_cache
from zapora.stores.terms_changes import note_terms_change

logger = structlog.get_logger(__name__)

DEMO_STORE_SLUG = "demo"
DEMO_STORE_NAME = "Pizzaria Demo"
DEMO_PHONE_NUMBER_ID = "100000000000001"
DEMO_ACCESS_TOKEN = "demo-access-token"  # noqa: S105
DEMO_APP_SECRET = "demo-app-secret"  # noqa: S105
DEMO_VERIFY_TOKEN = "demo-verify-token"  # noqa: S105
# A reserved example domain: the login form's email validation rejects special-use names
# such as ".local".
DEMO_MANAGER_EMAIL = "gerente@demo.example.com"
DEMO_MANAGER_PASSWORD = "demo-manager-password"  # noqa: S105
DEMO_COURIER_EMAIL = "entregador@demo.example.com"
DEMO_COURIER_PASSWORD = "demo-courier-password"  # noqa: S105
DEMO_COURIER_NAME = "Carlos Entregador"
DEMO_GRAPH_PORT = 8001
# Avenida Paulista, São Paulo: the store's location and the centre of its ring zone.
DEMO_LATITUDE = -23.5614
DEMO_LONGITUDE = -46.6559


@dataclass(frozen=True)
class OptionSpec:
    name: str
    price: int


@dataclass(frozen=True)
class GroupSpec:
    name: str
    min_choices: int
    max_choices: int
    options: tuple[OptionSpec, ...]


@dataclass(frozen=True)
class ItemSpec:
    name: str
    description: str
    price: int
    groups: tuple[GroupSpec, ...] = ()
    is_available: bool = True


@dataclass(frozen=True)
class CategorySpec:
    name: str
    items: tuple[ItemSpec, ...]


# The item price is the small size; the size option adds the difference.
PIZZA_SIZES = GroupSpec(
    name="Tamanho",
    min_choices=1,
    max_choices=1,
    options=(
        OptionSpec("P (4 fatias)", 0),
        OptionSpec("M (6 fatias)", 1200),
        OptionSpec("G (8 fatias)", 2200),
    ),
)
PIZZA_EXTRAS = GroupSpec(
    name="Adicionais",
    min_choices=0,
    max_choices=3,
    options=(
        OptionSpec("Borda de catupiry", 900),
        OptionSpec("Borda de cheddar", 900),
        OptionSpec("Bacon", 600),
        OptionSpec("Queijo extra", 700),
        OptionSpec("Azeitonas", 300),
        OptionSpec("Cebola caramelizada", 400),
    ),
)
PIZZA_GROUPS = (PIZZA_SIZES, PIZZA_EXTRAS)


def _pizza(name: str, description: str, price: int, *, is_available: bool = True) -> ItemSpec:
    return ItemSpec(name, description, price, PIZZA_GROUPS, is_available)


DEMO_MENU: tuple[CategorySpec, ...] = (
    CategorySpec(
        "Pizzas",
        (
            _pizza("Mussarela", "Mussarela, tomate e orégano", 3200),
            _pizza("Margherita", "Mussarela, tomate, manjericão e parmesão", 3500),
            _pizza("Calabresa", "Calabresa fatiada, cebola e azeitonas", 3400),
            _pizza("Portuguesa", "Presunto, ovo, cebola, ervilha e mussarela", 3800),
            _pizza("Frango com Catupiry", "Frango desfiado e catupiry", 3900),
            _pizza("Quatro Queijos", "Mussarela, provolone, parmesão e gorgonzola", 4100),
            _pizza("Pepperoni", "Pepperoni e mussarela", 4200),
            _pizza("Napolitana", "Mussarela, tomate em rodelas e parmesão", 3600),
            _pizza("Atum", "Atum, cebola e mussarela", 3900),
            _pizza("Vegetariana", "Brócolis, palmito, milho, tomate e mussarela", 3800),
            _pizza("Baiana", "Calabresa moída apimentada, ovo e cebola", 3700),
            _pizza(
                "Camarão",
                "Camarão ao alho, catupiry e mussarela",
                5600,
                is_available=False,
            ),
        ),
    ),
    CategorySpec(
        "Bebidas",
        (
            ItemSpec("Coca-Cola lata", "350 ml", 600),
            ItemSpec("Guaraná Antarctica lata", "350 ml", 550),
            ItemSpec("Coca-Cola 2 litros", "Garrafa de 2 litros", 1400),
            ItemSpec("Suco de laranja", "Natural, 500 ml", 900),
            ItemSpec("Água mineral", "Sem gás, 500 ml", 400),
        ),
    ),
    CategorySpec(
        "Sobremesas",
        (
            ItemSpec("Pizza de chocolate", "Brotinho de chocolate ao leite com morangos", 2900),
            ItemSpec("Pudim de leite", "Fatia de pudim com calda de caramelo", 1200),
            ItemSpec("Brigadeiro", "Unidade, chocolate belga", 450),
        ),
    ),
)


def _demo_zones() -> list[dict[str, object]]:
    """Return a 3 km ring around the store and a wider polygon of central São Paulo.

    The ring has the higher priority, so a location in both pays the ring's lower fee.
    """
    outline = [
        [-46.7500, -23.6200],
        [-46.5800, -23.6200],
        [-46.5800, -23.5000],
        [-46.7500, -23.5000],
        [-46.7500, -23.6200],
    ]
    return [
        {
            "name": "Até 3 km",
            "kind": ZoneKind.RADIUS.value,
            "radius_meters": 3000,
            "fee": 700,
            "minimum_order": 2000,
            "estimate_minutes": 40,
            "priority": 10,
        },
        {
            "name": "Centro expandido",
            "kind": ZoneKind.POLYGON.value,
            "geometry": {"type": "Polygon", "coordinates": [outline]},
            "fee": 1200,
            "minimum_order": 3000,
            "estimate_minutes": 60,
            "priority": 0,
        },
    ]


@dataclass(frozen=True)
class DemoSeedResult:
    """Outcome of a seed run; each ``*_created`` flag is false when the row already existed."""

    store_id: uuid.UUID
    store_created: bool
    phone_number_id: str | None
    menu_created: bool
    manager_email: str
    manager_created: bool
    zones_created: bool = False


async def seed_demo_store(settings: Settings) -> DemoSeedResult:
    """Create the demo store, its menu, delivery zones and manager, each only when missing.

    An existing demo store without zones gets them, and the demo location when it has none.
    """
    engine = create_engine(settings.resolved_database_url)
    session_factory = create_session_factory(engine)
    # Running replicas keep each store's active-zone flag, so new zones are announced.
    terms_cache = create_terms_cache(settings, session_factory)
    try:
        async with session_factory() as session:
            result = await _seed(session)
            await commit_and_publish_terms(session)
            return result
    finally:
        await terms_cache.close()
        await engine.dispose()


async def _seed(session: AsyncSession) -> DemoSeedResult:
    store, store_created = await _get_or_create_store(session)
    has_menu = await session.scalar(
        select(func.count()).select_from(Category).where(Category.store_id == store.id)
    )
    # The menu is seeded only into an empty store so that edits made through the API survive.
    menu_created = not has_menu
    if menu_created:
        await _create_menu(session, store.id, DEMO_MENU)
    manager_created = await _ensure_manager(session, store.id)
    await _ensure_courier(session, store.id)
    zones_created = await _ensure_zones(session, store)
    logger.info(
        "demo.seeded",
        store_id=str(store.id),
        store_created=store_created,
        menu_created=menu_created,
        manager_created=manager_created,
        zones_created=zones_created,
    )
    return DemoSeedResult(
        store_id=store.id,
        store_created=store_created,
        phone_number_id=store.whatsapp_phone_number_id,
        menu_created=menu_created,
        manager_email=DEMO_MANAGER_EMAIL,
        manager_created=manager_created,
        zones_created=zones_created,
    )


async def _ensure_zones(session: AsyncSession, store: Store) -> bool:
    """Give a store without zones the demo location and zones. A store with zones is kept."""
    has_zones = await session.scalar(
        select(func.count()).select_from(DeliveryZone).where(DeliveryZone.store_id == store.id)
    )
    if has_zones:
        return False
    if store.latitude is None or store.longitude is None:
        store.latitude, store.longitude = DEMO_LATITUDE, DEMO_LONGITUDE
    session.add_all(DeliveryZone(store_id=store.id, **values) for values in _demo_zones())
    await session.flush()
    note_terms_change(session, store.id)
    return True


async def _get_or_create_store(session: AsyncSession) -> tuple[Store, bool]:
    store = await session.scalar(select(Store).where(Store.slug == DEMO_STORE_SLUG))
    if store is not None:
        return store, False
    holder = await session.scalar(
        select(Store.slug).where(Store.whatsapp_phone_number_id == DEMO_PHONE_NUMBER_ID)
    )
    if holder is not None:
        raise ConflictError(
            f"The store '{holder}' already uses the demo phone number id {DEMO_PHONE_NUMBER_ID}.",
            field="whatsapp_phone_number_id",
            fix="change that store's phone number id or seed the demo into another database",
        )
    store = Store(
        slug=DEMO_STORE_SLUG,
        name=DEMO_STORE_NAME,
        time_zone="America/Sao_Paulo",
        currency="BRL",
        language=Language.PT_BR.value,
        whatsapp_phone_number_id=DEMO_PHONE_NUMBER_ID,
        whatsapp_access_token=DEMO_ACCESS_TOKEN,
        delivery_fee=700,
        minimum_order=2000,
        is_open=True,
        # The random-key example of the PIX specification: codes are valid but pay no one.
        pix_key="123e4567-e12b-12d1-a456-426655440000",
        pix_merchant_name=DEMO_STORE_NAME,
        pix_merchant_city="Sao Paulo",
        latitude=DEMO_LATITUDE,
        longitude=DEMO_LONGITUDE,
    )
    session.add(store)
    await session.flush()
    return store, True


async def _create_menu(
    session: AsyncSession, store_id: uuid.UUID, menu: tuple[CategorySpec, ...]
) -> None:
    for category_position, category_spec in enumerate(menu, start=1):
        category = Category(store_id=store_id, name=category_spec.name, position=category_position)
        session.add(category)
        await session.flush()
        for item_position, item_spec in enumerate(category_spec.items, start=1):
            item = Item(
                store_id=store_id,
                category_id=category.id,
                name=item_spec.name,
                description=item_spec.description,
                price=item_spec.price,
                is_available=item_spec.is_available,
                position=item_position,
            )
            session.add(item)
            await session.flush()
            await _create_groups(session, store_id, item.id, item_spec.groups)


async def _create_groups(
    session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID, groups: tuple[GroupSpec, ...]
) -> None:
    for group_position, group_spec in enumerate(groups, start=1):
        group = OptionGroup(
            store_id=store_id,
            item_id=item_id,
            name=group_spec.name,
            min_choices=group_spec.min_choices,
            max_choices=group_spec.max_choices,
            position=group_position,
        )
        session.add(group)
        await session.flush()
        session.add_all(
            Option(
                store_id=store_id,
                group_id=group.id,
                name=option_spec.name,
                price=option_spec.price,
                position=option_position,
            )
            for option_position, option_spec in enumerate(group_spec.options, start=1)
        )
    await session.flush()


async def _ensure_manager(session: AsyncSession, store_id: uuid.UUID) -> bool:
    # Imported here: the password module hashes at import, and the CLI imports this module
    # for its constants on every command.
    from zapora.auth.service import create_user

    existing = await session.scalar(select(User.id).where(User.email == DEMO_MANAGER_EMAIL))
    if existing is not None:
        return False
    await create_user(
        session,
        email=DEMO_MANAGER_EMAIL,
        password=DEMO_MANAGER_PASSWORD,
        role=Role.STORE_MANAGER,
        store_id=store_id,
    )
    return True


async def _ensure_courier(session: AsyncSession, store_id: uuid.UUID) -> None:
    """Create the demo courier, who takes the demo store's deliveries, unless it exists."""
    from zapora.auth.service import create_user

    existing = await session.scalar(select(User.id).where(User.email == DEMO_COURIER_EMAIL))
    if existing is not None:
        return
    courier = await create_user(
        session,
        email=DEMO_COURIER_EMAIL,
        password=DEMO_COURIER_PASSWORD,
        role=Role.COURIER,
        store_id=store_id,
    )
    courier.full_name = DEMO_COURIER_NAME
    await session.flush()
