"""Every route's access rule: its declared permission, checked with a token of every role.

A route must either require a permission through ``require(Permission.X)``, need only a
logged-in caller, or be listed as public below. A new route that does none of these
fails ``test_every_route_declares_access``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from tests.auth.conftest import ME_URL, Team, bearer, log_in
from zapora.auth.models import Role
from zapora.auth.permissions import ROLE_PERMISSIONS, Permission, has_permission
from zapora.dependencies import get_current_user, require, required_permission

PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/webhooks/whatsapp"),
    ("POST", "/webhooks/whatsapp"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/stores/{slug}/menu"),
    ("GET", "/track/{token}"),
    # A locally stored file behind a signed, expiring URL, where the signature is the check.
    ("GET", "/files/{key:path}"),
}
# Routes for any logged-in caller, whatever their role: their own account and sessions.
AUTHENTICATED_ROUTES = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/logout-all"),
    ("POST", "/api/v1/auth/password"),
}
# The framework's own documentation routes, the only routes outside FastAPI's APIRoute.
DOCUMENTATION_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

EXPECTED_GRANTS: dict[Role, set[str]] = {
    Role.PLATFORM_ADMIN: {permission.value for permission in Permission},
    Role.STORE_MANAGER: {
        "stores:read",
        "stores:write",
        "catalog:read",
        "catalog:write",
        "orders:read",
        "orders:create",
        "orders:update",
        "payments:update",
        "inbox:read",
        "inbox:retry",
        "staff:manage",
        "audit:read",
        "reports:read",
        "dispatch:manage",
    },
    Role.STORE_STAFF: {
        "stores:read",
        "catalog:read",
        "catalog:write",
        "orders:read",
        "orders:create",
        "orders:update",
        "payments:update",
        "inbox:read",
        "inbox:retry",
        "dispatch:manage",
    },
    Role.COURIER: {"stores:read", "deliveries:own"},
}


@dataclass(frozen=True)
class RouteAccess:
    method: str
    path: str
    permissions: frozenset[Permission]
    authenticated: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _dependency_calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _dependency_calls(dependency)


def _route_access(app: FastAPI) -> list[RouteAccess]:
    routes = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        calls = list(_dependency_calls(context.dependant))
        permissions = frozenset(
            permission
            for permission in (required_permission(call) for call in calls)
            if permission is not None
        )
        for method in sorted(context.methods or ()):
            routes.append(
                RouteAccess(
                    method=method,
                    path=str(context.path),
                    permissions=permissions,
                    authenticated=get_current_user in calls,
                )
            )
    return routes


def _concrete_path(path: str, team: Team) -> str:
    """Fill the path parameters: the caller's store, its slug, and random ids for the rest."""
    values = {"store_id": str(team.store.id), "slug": team.store.slug}
    parts = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            parts.append(values.get(part[1:-1], str(uuid.uuid4())))
        else:
            parts.append(part)
    return "/".join(parts)


async def _call(
    client: httpx.AsyncClient, route: RouteAccess, team: Team, headers: dict[str, str]
) -> httpx.Response:
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    return await client.request(
        route.method, _concrete_path(route.path, team), json=body, headers=headers
    )


def test_role_grants_match_policy():
    granted = {
        role: {p.value for p in permissions} for role, permissions in ROLE_PERMISSIONS.items()
    }

    assert granted == EXPECTED_GRANTS
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_unknown_role_has_no_permission():
    for permission in Permission:
        assert not has_permission("cashier", permission)


def test_require_marks_its_permission():
    for permission in Permission:
        assert required_permission(require(permission)) is permission
        assert require(permission) is require(permission)
    assert required_permission(get_current_user) is None


def test_every_route_declares_access(app):
    routes = _route_access(app)
    unprotected = {
        route.key for route in routes if not route.permissions and not route.authenticated
    }
    authenticated_only = {
        route.key for route in routes if not route.permissions and route.authenticated
    }

    assert len(routes) > 40
    assert unprotected == PUBLIC_ROUTES
    assert authenticated_only == AUTHENTICATED_ROUTES
    for route in routes:
        if route.permissions:
            assert route.authenticated, route.key
            assert len(route.permissions) == 1, route.key


def test_route_access_finds_new_routes(app):
    router = APIRouter(
        prefix="/api/v1/extra", dependencies=[Depends(require(Permission.AUDIT_READ))]
    )

    @router.get("/guarded")
    async def guarded() -> dict[str, str]:
        return {}

    @app.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router)
    access = {route.key: route for route in _route_access(app)}

    assert not access[("GET", "/api/v1/forgotten")].permissions
    assert not access[("GET", "/api/v1/forgotten")].authenticated
    assert access[("GET", "/api/v1/extra/guarded")].permissions == {Permission.AUDIT_READ}
    assert access[("GET", "/api/v1/extra/guarded")].authenticated


def test_only_documentation_outside_api_routes(app):
    others = {
        str(context.path)
        for context in iter_route_contexts(app.routes)
        if not isinstance(context.original_route, APIRoute)
    }

    assert others == DOCUMENTATION_PATHS


async def test_every_route_with_every_role(app, client, team: Team):
    headers = {role: bearer(await log_in(client, team.by_role(role))) for role in Role}
    routes = _route_access(app)
    checked = 0

    for route in routes:
        if route.key in PUBLIC_ROUTES:
            continue
        anonymous = await _call(client, route, team, {})
        assert anonymous.status_code == 401, (route.key, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"

        for role in Role:
            response = await _call(client, route, team, headers[role])
            allowed = all(has_permission(role.value, p) for p in route.permissions)
            if allowed:
                assert response.status_code not in (401, 403), (route.key, role, response.text)
                assert response.status_code < 500, (route.key, role, response.text)
            else:
                assert response.status_code == 403, (route.key, role, response.text)
                assert response.json()["code"] == "permission_denied"
            checked += 1
            # Logout-all ends the caller's sessions, so log in again after such a route.
            if (await client.get(ME_URL, headers=headers[role])).status_code == 401:
                headers[role] = bearer(await log_in(client, team.by_role(role)))

    assert checked == (len(routes) - len(PUBLIC_ROUTES)) * len(Role)
    assert checked > 30 * len(Role)


async def test_public_routes_answer_anonymously(app, client, team: Team):
    for route in _route_access(app):
        if route.key not in PUBLIC_ROUTES or route.path == "/api/v1/auth/token":
            continue

        response = await _call(client, route, team, {})

        assert response.status_code < 500, (route.key, response.text)
