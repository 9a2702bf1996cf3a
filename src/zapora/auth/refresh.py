"""Rotating refresh tokens: random strings stored only as SHA-256 digests.

Each login starts a family. Exchanging a token marks it rotated and issues its successor
in the same family. Presenting a rotated token again means it was copied, so the caller
revokes the whole family.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import RefreshToken, User
from zapora.config import Settings
from zapora.db import utcnow
from zapora.errors import AuthenticationError

logger = structlog.get_logger(__name__)

TOKEN_BYTES = 32


class RefreshTokenReusedError(AuthenticationError):
    """A rotated refresh token presented again, so its family must be revoked."""

    def __init__(self, token: RefreshToken) -> None:
        super().__init__(
            "The refresh token was already used, so every token of its session is revoked.",
            fix="log in again with the email and password",
        )
        self.family_id = token.family_id
        self.user_id = token.user_id


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str
    family_id: uuid.UUID
    lifetime_seconds: int


def digest(token: str) -> str:
    """Return the hex SHA-256 digest under which a refresh token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _invalid(detail: str) -> AuthenticationError:
    return AuthenticationError(detail, fix="log in again with the email and password")


async def issue_refresh_token(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    family_id: uuid.UUID | None = None,
) -> IssuedRefreshToken:
    """Store a new refresh token for ``user``, in a new family unless one is given."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    lifetime = timedelta(days=settings.refresh_token_days)
    row = RefreshToken(
        user_id=user.id,
        family_id=family_id or uuid.uuid4(),
        token_hash=digest(token),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    await session.flush()
    return IssuedRefreshToken(
        token=token, family_id=row.family_id, lifetime_seconds=int(lifetime.total_seconds())
    )


async def find_refresh_token(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> RefreshToken:
    """Return the stored row of ``token``, or raise AuthenticationError when none exists."""
    query = select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise _invalid("The refresh token is invalid.")
    return row


async def rotate_refresh_token(
    session: AsyncSession, settings: Settings, token: str
) -> tuple[User, IssuedRefreshToken]:
    """Exchange a refresh token for its successor, and return the user and the new token.

    Raises RefreshTokenReusedError for a token already rotated, and AuthenticationError
    for an unknown, revoked or expired token or a disabled user.
    """
    # The row lock makes a concurrent exchange of the same token wait, then see it rotated.
    row = await find_refresh_token(session, token, for_update=True)
    if row.rotated_at is not None:
        raise RefreshTokenReusedError(row)
    if row.revoked_at is not None:
        raise _invalid("The refresh token was revoked.")
    now = utcnow()
    if row.expires_at <= now:
        raise _invalid("The refresh token has expired.")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise _invalid("The user of this refresh token is disabled or deleted.")
    row.rotated_at = now
    successor = await issue_refresh_token(session, settings, user, family_id=row.family_id)
    logger.info("auth.refresh_rotated", user_id=str(user.id), family_id=str(row.family_id))
    return user, successor


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    """Revoke every token of a family that is not revoked yet."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke every refresh token of a user that is not revoked yet."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
