"""Request and response bodies of the catalog API and the public menu."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from zapora.catalog.models import Category, Item, Option
from zapora.stores.models import Store
from zapora.stores.schemas import MAX_AMOUNT

MAX_POSITION = 1_000_000
MAX_CHOICES = 100

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
# Line breaks are allowed in descriptions; NUL is not, because PostgreSQL rejects it in text.
Description = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
Price = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="Minor units of the currency.")]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION, description="Sort key, lowest first.")]
MinChoices = Annotated[int, Field(ge=0, le=MAX_CHOICES)]
MaxChoices = Annotated[int, Field(ge=1, le=MAX_CHOICES)]


class CreateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UpdateModel(BaseModel):
    """Partial update body. Only the fields sent change, and none of them may be ``null``."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(
                f"{info.field_name} must not be null. Omit it to keep the current value."
            )
        return value


class CategoryCreate(CreateModel):
    name: Name
    position: Position = 0


class CategoryUpdate(UpdateModel):
    name: Name | None = None
    position: Position | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    position: int


class ItemCreate(CreateModel):
    category_id: uuid.UUID
    name: Name
    description: Description = ""
    price: Price
    is_available: bool = True
    position: Position = 0


class ItemUpdate(UpdateModel):
    category_id: uuid.UUID | None = None
    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    is_available: bool | None = None
    position: Position | None = None


class ItemOut(BaseModel):
    id: uuid.UUID
    category_id: uuid.UUID
    name: str
    description: str
    price: int
    currency: str
    is_available: bool
    position: int

    @classmethod
    def from_model(cls, item: Item, currency: str) -> ItemOut:
        return cls(
            id=item.id,
            category_id=item.category_id,
            name=item.name,
            description=item.description,
            price=item.price,
            currency=currency,
            is_available=item.is_available,
            position=item.position,
        )


class OptionGroupCreate(CreateModel):
    item_id: uuid.UUID
    name: Name
    min_choices: MinChoices = 0
    max_choices: MaxChoices = 1
    position: Position = 0


class OptionGroupUpdate(UpdateModel):
    item_id: uuid.UUID | None = None
    name: Name | None = None
    min_choices: MinChoices | None = None
    max_choices: MaxChoices | None = None
    position: Position | None = None


class OptionGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    item_id: uuid.UUID
    name: str
    min_choices: int
    max_choices: int
    position: int


class OptionCreate(CreateModel):
    group_id: uuid.UUID
    name: Name
    price: Price = 0
    is_available: bool = True
    position: Position = 0


class OptionUpdate(UpdateModel):
    group_id: uuid.UUID | None = None
    name: Name | None = None
    price: Price | None = None
    is_available: bool | None = None
    position: Position | None = None


class OptionOut(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    name: str
    price: int
    currency: str
    is_available: bool
    position: int

    @classmethod
    def from_model(cls, option: Option, currency: str) -> OptionOut:
        return cls(
            id=option.id,
            group_id=option.group_id,
            name=option.name,
            price=option.price,
            currency=currency,
            is_available=option.is_available,
            position=option.position,
        )


class MenuModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MenuOption(MenuModel):
    id: uuid.UUID
    name: str
    price: int
    is_available: bool


class MenuOptionGroup(MenuModel):
    id: uuid.UUID
    name: str
    min_choices: int
    max_choices: int
    options: list[MenuOption]


class MenuItem(MenuModel):
    id: uuid.UUID
    name: str
    description: str
    price: int
    is_available: bool
    option_groups: list[MenuOptionGroup]


class MenuCategory(MenuModel):
    id: uuid.UUID
    name: str
    items: list[MenuItem]


class MenuStore(MenuModel):
    slug: str
    name: str
    currency: str = Field(description="ISO 4217 code of every price in the menu.")
    is_open: bool
    delivery_fee: int
    minimum_order: int


class MenuOut(BaseModel):
    """A store's whole menu, with every price in minor units of ``store.currency``."""

    store: MenuStore
    categories: list[MenuCategory]

    @classmethod
    def from_models(cls, store: Store, categories: list[Category]) -> MenuOut:
        return cls(
            store=MenuStore.model_validate(store),
            categories=[MenuCategory.model_validate(category) for category in categories],
        )
