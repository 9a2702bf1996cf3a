"""Login sessions: issue token pairs, rotate and revoke them, and audit each step.

Every function takes the request's session and flushes, so the audit entry commits or
rolls back with the change it describes. The two failure recorders are meant for a
separate short transaction, because the failed request's own transaction is rolled back.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import ANONYMOUS, Actor, record
from zapora.auth import refresh, service
from zapora.auth.models import User
from zapora.auth.schemas import TokenResponse
from zapora.auth.tokens import issue_access_token
from zapora.config import Settings
from zapora.observability.metrics import AUTH_EVENTS

logger = structlog.get_logger(__name__)


async def _token_pair(
    session: AsyncSession, settings: Settings, user: User, issued: refresh.IssuedRefreshToken | None
) -> TokenResponse:
    if issued is None:
        issued = await refresh.issue_refresh_token(session, settings, user)
    access_token, lifetime = issue_access_token(settings, user)
    return TokenResponse(
        access_token=access_token,
        refresh_token=issued.token,
        expires_in=lifetime,
        refresh_expires_in=issued.lifetime_seconds,
    )


async def _audit_user_event(
    session: AsyncSession, action: str, user: User, **after: object
) -> None:
    await record(
        session,
        action=action,
        actor=Actor.staff(user),
        store_id=user.store_id,
        target_type="user",
        target_id=user.id,
        after=after or None,
    )


async def log_in(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> TokenResponse:
    """Check the credentials and start a session, or raise LoginFailedError."""
    user = await service.authenticate(session, email=email, password=password)
    pair = await _token_pair(session, settings, user, None)
    await _audit_user_event(session, "auth.login", user)
    AUTH_EVENTS.labels(event="login").inc()
    return pair


async def record_login_failure(session: AsyncSession, error: service.LoginFailedError) -> None:
    """Audit and count a failed login, naming the account when the email matched one."""
    await record(
        session,
        action="auth.login_failed",
        actor=ANONYMOUS,
        store_id=error.store_id,
        target_type="user" if error.user_id else None,
        target_id=error.user_id,
        after={"reason": error.reason},
    )
    AUTH_EVENTS.labels(event="login_failed").inc()


async def refresh_session(session: AsyncSession, settings: Settings, token: str) -> TokenResponse:
    """Exchange a refresh token for a new token pair of the same session."""
    user, successor = await refresh.rotate_refresh_token(session, settings, token)
    pair = await _token_pair(session, settings, user, successor)
    await _audit_user_event(session, "auth.refresh", user, family_id=str(successor.family_id))
    AUTH_EVENTS.labels(event="refresh").inc()
    return pair


async def record_refresh_reuse(
    session: AsyncSession, error: refresh.RefreshTokenReusedError
) -> None:
    """Revoke the family of a reused refresh token, then audit and count the reuse."""
    await refresh.revoke_family(session, error.family_id)
    user = await session.get(User, error.user_id)
    await record(
        session,
        action="auth.refresh_reuse",
        actor=ANONYMOUS,
        store_id=user.store_id if user else None,
        target_type="user",
        target_id=error.user_id,
        after={"family_id": str(error.family_id)},
    )
    AUTH_EVENTS.labels(event="refresh_reuse").inc()
    logger.warning(
        "auth.refresh_reused", user_id=str(error.user_id), family_id=str(error.family_id)
    )


async def log_out(session: AsyncSession, token: str) -> None:
    """End the session of a refresh token by revoking its whole family.

    Access tokens issued to that session stay valid until they expire, because they carry
    no reference to their refresh token family. ``log_out_everywhere`` voids them too.
    """
    row = await refresh.find_refresh_token(session, token, for_update=True)
    await refresh.revoke_family(session, row.family_id)
    user = await session.get(User, row.user_id)
    if user is not None:
        await _audit_user_event(
            session, "auth.logout", user, scope="session", family_id=str(row.family_id)
        )
    AUTH_EVENTS.labels(event="logout").inc()


async def log_out_everywhere(session: AsyncSession, user: User) -> None:
    """End every session of ``user``: all refresh tokens and all access tokens."""
    await service.invalidate_sessions(session, user)
    await _audit_user_event(session, "auth.logout", user, scope="all")
    AUTH_EVENTS.labels(event="logout").inc()


async def change_password(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    current_password: str,
    new_password: str,
) -> TokenResponse:
    """Change the caller's password, end all their sessions and start a new one."""
    await service.change_password(
        session, user, current_password=current_password, new_password=new_password
    )
    await _audit_user_event(session, "auth.password_changed", user)
    AUTH_EVENTS.labels(event="password_changed").inc()
    return await _token_pair(session, settings, user, None)
