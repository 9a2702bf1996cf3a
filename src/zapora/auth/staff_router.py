"""Staff management routes: a store's managers list, create, change and disable accounts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from zapora.auth import staff_service
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.auth.schemas import StaffCreate, StaffCreated, StaffOut, StaffUpdate
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE

router = APIRouter(prefix="/stores/{store_id}/staff", tags=["staff"])

StaffManager = Annotated[User, Depends(require(Permission.STAFF_MANAGE))]


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


_NOT_FOUND = "The store or account does not exist or belongs to another store."


@router.get("", response_model=list[StaffOut], responses=_problems({404: _NOT_FOUND}))
async def list_staff(
    store_id: uuid.UUID, session: SessionDep, manager: StaffManager
) -> list[StaffOut]:
    """List the store's staff accounts, disabled ones included, by email."""
    await load_store_for(session, manager, store_id)
    users = await staff_service.list_staff(session, store_id)
    return [StaffOut.model_validate(user) for user in users]


@router.post(
    "",
    response_model=StaffCreated,
    status_code=status.HTTP_201_CREATED,
    responses=_problems(
        {
            404: _NOT_FOUND,
            409: "An account with this email exists.",
            422: "Invalid email, a role other than a store role, or a short password.",
        }
    ),
)
async def create_staff_member(
    store_id: uuid.UUID, body: StaffCreate, session: SessionDep, manager: StaffManager
) -> StaffCreated:
    """Create a staff account in the store.

    Without a ``password`` the server generates one and returns it once as
    ``initial_password``. Hand it to the new user, who should change it with
    ``POST /api/v1/auth/password``.
    """
    await load_store_for(session, manager, store_id)
    user, generated = await staff_service.create_staff_member(session, store_id, body, manager)
    created = StaffCreated.model_validate(user)
    created.initial_password = generated
    return created


@router.get("/{user_id}", response_model=StaffOut, responses=_problems({404: _NOT_FOUND}))
async def get_staff_member(
    store_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, manager: StaffManager
) -> StaffOut:
    """Return one staff account of the store."""
    await load_store_for(session, manager, store_id)
    user = await staff_service.get_staff_member(session, store_id, user_id)
    return StaffOut.model_validate(user)


@router.patch(
    "/{user_id}",
    response_model=StaffOut,
    responses=_problems(
        {
            403: "The change would alter the caller's own role or disable their own account.",
            404: _NOT_FOUND,
        }
    ),
)
async def update_staff_member(
    store_id: uuid.UUID,
    user_id: uuid.UUID,
    body: StaffUpdate,
    session: SessionDep,
    manager: StaffManager,
) -> StaffOut:
    """Change an account's role or active flag. A role change or disabling logs it out."""
    await load_store_for(session, manager, store_id)
    user = await staff_service.update_staff_member(session, store_id, user_id, body, manager)
    return StaffOut.model_validate(user)
