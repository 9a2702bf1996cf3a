"""A store's staff accounts: list, create, change role and enable or disable them.

Every change is audited with the role and active flag before and after, never a password
or its hash. A caller cannot change their own role or disable their own account here, so
the manager acting always keeps the access to undo a change.
"""

from __future__ import annotations

import secrets
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, diff, record, snapshot
from zapora.auth import service
from zapora.auth.models import Role, User
from zapora.auth.schemas import StaffCreate, StaffUpdate
from zapora.auth.user_cache import note_account_change
from zapora.errors import NotFoundError, PermissionDeniedError

logger = structlog.get_logger(__name__)

AUDITED_FIELDS = ("email", "full_name", "role", "is_active")
# 16 random bytes, about 22 URL-safe characters.
INITIAL_PASSWORD_BYTES = 16


async def list_staff(session: AsyncSession, store_id: uuid.UUID) -> list[User]:
    """Return the store's accounts, disabled ones included, by email."""
    result = await session.scalars(
        select(User).where(User.store_id == store_id).order_by(User.email)
    )
    return list(result)


async def get_staff_member(session: AsyncSession, store_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """Return one account of the store. An account of another store is a 404."""
    user = await session.get(User, user_id)
    if user is None or user.store_id != store_id:
        raise NotFoundError(f"Staff member {user_id} not found.", field="user_id")
    return user


async def create_staff_member(
    session: AsyncSession, store_id: uuid.UUID, body: StaffCreate, actor: User
) -> tuple[User, str | None]:
    """Create an account in the store, and return it with the generated password, if any.

    Without a password in ``body`` a random one is generated. It is returned once, to
    be handed to the new user, and never stored in clear.
    """
    generated: str | None = None
    password = body.password
    if password is None:
        generated = password = secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)
    user = await service.create_user(
        session,
        email=body.email,
        password=password,
        role=Role(body.role),
        store_id=store_id,
        full_name=body.full_name,
    )
    await record(
        session,
        action="staff.created",
        actor=Actor.staff(actor),
        store_id=store_id,
        target_type="user",
        target_id=user.id,
        after=snapshot(user, AUDITED_FIELDS),
    )
    logger.info("staff.created", user_id=str(user.id), store_id=str(store_id), role=user.role)
    return user, generated


def _reject_self_change(user: User, actor: User, body: StaffUpdate) -> None:
    if user.id != actor.id:
        return
    if body.role is not None and body.role.value != user.role:
        raise PermissionDeniedError(
            "You cannot change your own role.", field="role", fix="ask another store manager"
        )
    if body.is_active is False and user.is_active:
        raise PermissionDeniedError(
            "You cannot disable your own account.",
            field="is_active",
            fix="ask another store manager",
        )


async def update_staff_member(
    session: AsyncSession, store_id: uuid.UUID, user_id: uuid.UUID, body: StaffUpdate, actor: User
) -> User:
    """Change an account's role or active flag, voiding its tokens on a role change or disable."""
    user = await get_staff_member(session, store_id, user_id)
    _reject_self_change(user, actor, body)
    before = snapshot(user, AUDITED_FIELDS)
    if body.role is not None:
        user.role = body.role.value
    if body.is_active is not None:
        user.is_active = body.is_active
    if body.full_name is not None:
        user.full_name = body.full_name
    changed_before, changed_after = diff(before, snapshot(user, AUDITED_FIELDS))
    if not changed_after:
        return user
    # Enabling an account needs no revocation, because disabling it voided its tokens.
    if "role" in changed_after or changed_after.get("is_active") is False:
        await service.invalidate_sessions(session, user)
    await session.flush()
    # Processes that cache the account drop it, so that they serve the new name or flag.
    note_account_change(session, user.id)
    await record(
        session,
        action="staff.updated",
        actor=Actor.staff(actor),
        store_id=store_id,
        target_type="user",
        target_id=user.id,
        before=changed_before,
        after=changed_after,
    )
    logger.info("staff.updated", user_id=str(user.id), store_id=str(store_id))
    return user
