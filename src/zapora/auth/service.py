"""Staff accounts: creation, password login, password change and session invalidation."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import Role, User
from zapora.auth.passwords import hash_password, verify_password
from zapora.auth.refresh import revoke_all_for_user
from zapora.auth.user_cache import note_account_change
from zapora.errors import AuthenticationError, ConflictError, InvalidInputError

logger = structlog.get_logger(__name__)

MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password_length(password: str, *, field: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters.",
            field=field,
            fix=f"choose a password of at least {MIN_PASSWORD_LENGTH} characters",
        )


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    store_id: uuid.UUID | None,
    full_name: str | None = None,
) -> User:
    _check_password_length(password, field="password")
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
        email=email,
        full_name=full_name.strip() if full_name else None,
        password_hash=await hash_password(password),
        role=role.value,
        store_id=store_id,
    )
    session.add(user)
    await session.flush()
    logger.info("user.created", user_id=str(user.id), role=role.value)
    return user


class LoginFailedError(AuthenticationError):
    """A failed login, naming the account when the email matched one, for the audit log."""

    def __init__(self, user: User | None, reason: str) -> None:
        super().__init__(
            "The email or password is wrong, or the account is disabled.",
            fix="check the credentials or ask a store manager",
        )
        self.user_id = user.id if user else None
        self.store_id = user.store_id if user else None
        self.reason = reason


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    """Return the active user with these credentials, with one vague error for every failure.

    A hash made with older hashing parameters is replaced by a new one in the session.
    """
    email = normalise_email(email)
    # PostgreSQL rejects NUL in text parameters; no stored email contains one anyway.
    user = (
        None if "\x00" in email else await session.scalar(select(User).where(User.email == email))
    )
    valid, new_hash = await verify_password(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        if user is None:
            reason = "unknown_email"
        elif not valid:
            reason = "wrong_password"
        else:
            reason = "disabled"
        logger.info("auth.login_failed", user_id=str(user.id) if user else None, reason=reason)
        raise LoginFailedError(user, reason)
    if new_hash is not None:
        user.password_hash = new_hash
        logger.info("auth.password_rehashed", user_id=str(user.id))
    logger.info("auth.login", user_id=str(user.id))
    return user


async def invalidate_sessions(session: AsyncSession, user: User) -> None:
    """Void every access and refresh token of ``user`` issued so far."""
    user.token_version += 1
    await revoke_all_for_user(session, user.id)
    await session.flush()
    note_account_change(session, user.id)
    logger.info("auth.sessions_invalidated", user_id=str(user.id), version=user.token_version)


async def change_password(
    session: AsyncSession, user: User, *, current_password: str, new_password: str
) -> None:
    """Replace the user's password after checking the current one, and void their tokens."""
    valid, _ = await verify_password(current_password, user.password_hash)
    if not valid:
        raise InvalidInputError(
            "The current password is wrong.",
            field="current_password",
            fix="send the password you log in with",
        )
    if new_password == current_password:
        raise InvalidInputError(
            "The new password is the same as the current one.",
            field="new_password",
            fix="choose a different password",
        )
    _check_password_length(new_password, field="new_password")
    user.password_hash = await hash_password(new_password)
    await invalidate_sessions(session, user)
