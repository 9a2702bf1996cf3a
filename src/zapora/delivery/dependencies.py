"""Dependencies of the delivery routes: the calling courier and the object storage."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from zapora.auth.models import Role, User
from zapora.auth.permissions import Permission
from zapora.dependencies import require
from zapora.errors import NotFoundError
from zapora.storage import ObjectStorage, build_storage


async def get_courier(user: Annotated[User, Depends(require(Permission.DELIVERIES_OWN))]) -> User:
    """Return the caller when it is a courier account of a store.

    A platform admin has every permission but no shift or deliveries of their own, so
    the courier routes find nothing for them.
    """
    if user.role != Role.COURIER.value or user.store_id is None:
        raise NotFoundError(
            "This account has no courier profile.",
            field="user",
            fix="call the courier routes with a courier account",
        )
    return user


def get_storage(request: Request) -> ObjectStorage:
    """Return the application's object storage, created on first use."""
    storage: ObjectStorage | None = getattr(request.app.state, "storage", None)
    if storage is None:
        storage = build_storage(request.app.state.settings)
        request.app.state.storage = storage
    return storage


CourierDep = Annotated[User, Depends(get_courier)]
StorageDep = Annotated[ObjectStorage, Depends(get_storage)]
