"""Staff accounts: creation and password login."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import Role, User
from zapora.auth.passwords import hash_password, verify_password
from zapora.errors import AuthenticationError, ConflictError, InvalidInputError

logger = structlog.get_logger(__name__)

MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    store_id: uuid.UUID | None,
) -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters.",
            field="password",
            fix=f"choose a password of at least {MIN_PASSWORD_LENGTH} characters",
        )
    if role is Role.PLATFORM_ADMIN and store_id is not None:
        raise InvalidInputError(
            "A platform admin belongs to no store.", field="store", fix="leave the store out"
        )
    if role is not Role.PLATFORM_ADMIN and store_id is None:
        raise InvalidInputError(
            f"The role '{role.value}' needs a store.", field="store", fix="name the user's store"
        )
    email = normalise_email(email)
    existing = await session.scalar(select(User.id).where(User.email == email))
    if existing is not None:
        raise ConflictError(
            f"A user with email {email} exists.", field="email", fix="use another email"
        )
    user = User(
        email=email, password_hash=hash_password(password), role=role.value, store_id=store_id
    )
    session.add(user)
    await session.flush()
    logger.info("user.created", user_id=str(user.id), role=role.value)
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    """Return the active user with these credentials; one vague error for every failure."""
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    valid, new_hash = verify_password(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        logger.info("auth.login_failed")
        raise AuthenticationError(
            "The email or password is wrong, or the account is disabled.",
            fix="check the credentials or ask a store manager",
        )
    if new_hash is not None:
        user.password_hash = new_hash
    logger.info("auth.login", user_id=str(user.id))
    return user
