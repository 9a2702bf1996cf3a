"""Menu: ordered categories, items, option groups and priced options."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zapora.db import Base, Timestamps, UUIDPrimaryKey


class Category(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "categories"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)

    items: Mapped[list[Item]] = relationship(
        back_populates="category", lazy="raise", order_by="Item.position"
    )


class Item(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "items"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[int] = mapped_column()
    is_available: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    category: Mapped[Category] = relationship(back_populates="items", lazy="raise")
    option_groups: Mapped[list[OptionGroup]] = relationship(
        back_populates="item", lazy="raise", order_by="OptionGroup.position"
    )


class OptionGroup(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "option_groups"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    min_choices: Mapped[int] = mapped_column(default=0)
    max_choices: Mapped[int] = mapped_column(default=1)
    position: Mapped[int] = mapped_column(default=0)

    item: Mapped[Item] = relationship(back_populates="option_groups", lazy="raise")
    options: Mapped[list[Option]] = relationship(
        back_populates="group", lazy="raise", order_by="Option.position"
    )


class Option(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "options"

    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("option_groups.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column(default=0)
    is_available: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    group: Mapped[OptionGroup] = relationship(back_populates="options", lazy="raise")
