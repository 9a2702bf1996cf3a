"""Login, token refresh, logout and password change.

Login is a JSON call for clients, and the OAuth2 password form for the docs' Authorize
button. Both return a short-lived access token and a rotating refresh token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth import sessions
from zapora.auth.refresh import RefreshTokenReusedError
from zapora.auth.schemas import (
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    TokenResponse,
    UserOut,
)
from zapora.auth.service import LoginFailedError
from zapora.config import Settings
from zapora.db import session_scope
from zapora.dependencies import CurrentUser, SessionDep, SettingsDep
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.ratelimit.login import AccountThrottleDep

router = APIRouter(prefix="/auth", tags=["auth"])

ErrorT = TypeVar("ErrorT", bound=Exception)


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


async def _commit_apart(
    request: Request,
    session: AsyncSession,
    write: Callable[[AsyncSession, ErrorT], Awaitable[None]],
    error: ErrorT,
) -> None:
    """Roll back the request's transaction, then commit ``write`` in a short one of its own.

    The failed request's transaction is rolled back anyway. Ending it first also frees
    SQLite's single write lock, which the short transaction needs.
    """
    await session.rollback()
    async with session_scope(request.app.state.session_factory) as own_session:
        await write(own_session, error)


async def _log_in(
    request: Request, session: AsyncSession, settings: Settings, *, email: str, password: str
) -> TokenResponse:
    """Start a session, or audit the failed attempt in a transaction that survives the 401."""
    try:
        return await sessions.log_in(session, settings, email=email, password=password)
    except LoginFailedError as error:
        await _commit_apart(request, session, sessions.record_login_failure, error)
        raise


_LOGIN_ERRORS = _problems({401: "The email or password is wrong, or the account is disabled."})


@router.post("/login", response_model=TokenResponse, responses=_LOGIN_ERRORS)
async def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: AccountThrottleDep,
) -> TokenResponse:
    """Exchange an email and password for an access token and a refresh token."""
    async with throttle.guard(body.email):
        return await _log_in(request, session, settings, email=body.email, password=body.password)


@router.post("/token", response_model=TokenResponse, responses=_LOGIN_ERRORS)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: AccountThrottleDep,
) -> TokenResponse:
    """OAuth2 password flow: the same login as a form, for the API docs."""
    async with throttle.guard(form.username):
        return await _log_in(
            request, session, settings, email=form.username, password=form.password
        )


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    """Return the caller's account."""
    return UserOut.model_validate(user)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=_problems(
        {
            401: "The refresh token is unknown, expired or revoked, or its user is disabled. "
            "A token that was already exchanged once revokes its whole session."
        }
    ),
)
async def refresh_tokens(
    body: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Exchange a refresh token, usable once, for a new access token and refresh token."""
    try:
        return await sessions.refresh_session(session, settings, body.refresh_token)
    except RefreshTokenReusedError as error:
        await _commit_apart(request, session, sessions.record_refresh_reuse, error)
        raise


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems({401: "The refresh token is unknown."}),
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    """Revoke the session of a refresh token. Its access tokens expire on their own."""
    await sessions.log_out(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout_all(user: CurrentUser, session: SessionDep) -> Response:
    """Revoke every session of the caller: all refresh tokens and all access tokens."""
    await sessions.log_out_everywhere(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    response_model=TokenResponse,
    responses=_problems({422: "The current password is wrong or the new one is too short."}),
)
async def change_password(
    body: PasswordChange, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Change the caller's password, revoke all their sessions and return a new token pair."""
    return await sessions.change_password(
        session,
        settings,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
    )
