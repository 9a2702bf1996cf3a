"""Request-scoped dependencies: settings, the unit of work, the caller and their store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from zapora.auth.models import Role, User
from zapora.auth.permissions import Permission, has_permission
from zapora.auth.tokens import AccessClaims, decode_access_token
from zapora.auth.user_cache import UserCache, take_account_changes
from zapora.config import Settings
from zapora.db import finish
from zapora.driver_sql import get_by_id
from zapora.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from zapora.stores.models import Store

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

# Route functions that only read, whose requests get a read session (see reads_only).
_READ_ONLY_ENDPOINTS: set[Callable[..., Any]] = set()


def reads_only(endpoint: Endpoint) -> Endpoint:
    """Mark a route function whose request, dependencies included, never writes.

    Its session comes from ``app.state.read_session_factory``, which skips the transaction's
    own round trips on PostgreSQL and refuses writes. Put it under the route decorator.
    """
    _READ_ONLY_ENDPOINTS.add(endpoint)
    return endpoint


def _is_read_only(request: Request) -> bool:
    route = request.scope.get("route")
    return getattr(route, "endpoint", None) in _READ_ONLY_ENDPOINTS


async def get_app_settings(request: Request) -> Settings:
    # Async so FastAPI calls it inline instead of handing it to a worker thread.
    settings: Settings = request.app.state.settings
    return settings


def user_cache_of(app: FastAPI) -> UserCache:
    """Return the application's cache of callers' accounts, made on first use."""
    user_cache: UserCache | None = getattr(app.state, "user_cache", None)
    if user_cache is None:
        user_cache = app.state.user_cache = UserCache.from_settings(app.state.settings)
    return user_cache


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session: commit what the route wrote, roll back if it raises.

    Accounts the route changed are announced to the account caches once the session is
    done, so that no process keeps accepting the tokens the change revoked.
    """
    state = request.app.state
    factory = state.read_session_factory if _is_read_only(request) else state.session_factory
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            await _announce_account_changes(request, session)
            raise
        else:
            await finish(session)
            await _announce_account_changes(request, session)


async def _announce_account_changes(request: Request, session: AsyncSession) -> None:
    changes = take_account_changes(session)
    if changes:
        await user_cache_of(request.app).announce(changes)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# Function scope runs the commit when the route returns, before the response is built, so a
# failed commit becomes an error response instead of a success the database never saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_current_user(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """Return the caller's active account if the token matches its current token version.

    A route marked ``@reads_only`` gets the account from the process's account cache (see
    ``zapora.auth.user_cache``), shared and read-only. Any other route gets it loaded in
    its own session, where it may change it. On PostgreSQL, under ``/stores/{store_id}``, the
    same statement reads the store's row into the session for the route's own read of it.
    """
    if not token:
        raise AuthenticationError(
            "This route needs a bearer token.",
            fix="log in at /api/v1/auth/login and send 'Authorization: Bearer <token>'",
        )
    claims = decode_access_token(request.app.state.settings, token)
    if _is_read_only(request):
        user = await _cached_user(user_cache_of(request.app), session, claims)
    else:
        user = await get_by_id(session, User, claims.user_id, also=_store_in_path(request))
    if user is None or not user.is_active:
        raise AuthenticationError(
            "The user of this token is disabled or deleted.", fix="log in again"
        )
    # A password change, role change, disabling or logout from all sessions bumps the version.
    if user.token_version != claims.token_version or user.role != claims.role:
        raise AuthenticationError(
            "The token was revoked: the account's password, role or sessions changed.",
            fix="log in again",
        )
    return user


def _store_in_path(request: Request) -> tuple[type[Store], uuid.UUID] | None:
    """Name the store of a route under ``/stores/{store_id}``, whose row it reads next."""
    value = request.path_params.get("store_id")
    if not isinstance(value, str):
        return None
    try:
        return Store, uuid.UUID(value)
    except ValueError:
        return None


async def _cached_user(
    user_cache: UserCache, session: AsyncSession, claims: AccessClaims
) -> User | None:
    user = user_cache.get(claims.user_id)
    # A token newer than the cached account was issued after a change whose message has not
    # arrived yet, so the row is read again.
    if user is not None and claims.token_version <= user.token_version:
        return user
    generation = user_cache.generation
    user = await session.scalar(
        select(User)
        .where(User.id == claims.user_id)
        .options(defer(User.password_hash, raiseload=True))
    )
    if user is None:
        return None
    # Detached, so that the session's rollback or close leaves it as loaded.
    session.expunge(user)
    if user.is_active:
        user_cache.keep(user, generation)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

# The checks built by ``require``, so tools and tests can read a route's permission.
_PERMISSION_CHECKS: dict[object, Permission] = {}


@cache
def require(permission: Permission) -> Callable[[User], Awaitable[User]]:
    """Build a dependency that returns the caller when their role grants ``permission``."""

    async def check_permission(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise PermissionDeniedError(
                f"Your role '{user.role}' lacks the permission '{permission.value}'.",
                fix="ask a store manager for a role that grants it",
            )
        return user

    _PERMISSION_CHECKS[check_permission] = permission
    return check_permission


def required_permission(dependency: object) -> Permission | None:
    """Return the permission a dependency built by ``require`` checks, else None."""
    return _PERMISSION_CHECKS.get(dependency)


def can_access_store(user: User, store_id: uuid.UUID) -> bool:
    return user.role == Role.PLATFORM_ADMIN.value or user.store_id == store_id


async def check_store_access(session: AsyncSession, user: User, store_id: uuid.UUID) -> None:
    """Raise a 404 unless the caller may see the store, without loading the store.

    A member's own store exists, because deleting a store deletes its accounts (a cached
    account lasts ``LOCAL_TTL_SECONDS`` longer). Only a platform admin's store id is queried.
    """
    if user.role == Role.PLATFORM_ADMIN.value:
        exists = await session.scalar(select(Store.id).where(Store.id == store_id))
        if exists is not None:
            return
    elif user.store_id == store_id:
        return
    raise NotFoundError(f"Store {store_id} not found.", field="store_id")


async def load_store_for(session: AsyncSession, user: User, store_id: uuid.UUID) -> Store:
    """Return the store when the caller belongs to it; any other store is a 404."""
    store = await get_by_id(session, Store, store_id)
    if store is None or not can_access_store(user, store_id):
        raise NotFoundError(f"Store {store_id} not found.", field="store_id")
    return store
