"""Route templates of the request metrics, matched once per path and method."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Scope

from tests.factories import login, make_store, make_user
from tests.observability.conftest import counter
from zapora.observability.http_metrics import MAX_REMEMBERED_TEMPLATES, HttpMetricsMiddleware

ORDERS_TEMPLATE = "/api/v1/stores/{store_id}/orders"


def _scope(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


async def test_repeated_path_keeps_template(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    user = await make_user(session, store)
    await session.commit()
    headers = await login(client, user)
    get_labels = {"route": ORDERS_TEMPLATE, "method": "GET", "status": "200"}
    post_labels = {"route": ORDERS_TEMPLATE, "method": "POST", "status": "422"}
    gets_before = await counter(client, "zapora_http_requests_total", **get_labels)
    posts_before = await counter(client, "zapora_http_requests_total", **post_labels)

    for _ in range(3):
        response = await client.get(f"/api/v1/stores/{store.id}/orders", headers=headers)
        assert response.status_code == 200
    response = await client.post(f"/api/v1/stores/{store.id}/orders", headers=headers, json={})
    assert response.status_code == 422

    gets_after = await counter(client, "zapora_http_requests_total", **get_labels)
    posts_after = await counter(client, "zapora_http_requests_total", **post_labels)
    assert gets_after == gets_before + 3
    assert posts_after == posts_before + 1


def test_template_memory_is_bounded(app: FastAPI) -> None:
    middleware = HttpMetricsMiddleware(app.router, routes=app.router.routes)

    templates = {
        middleware._route_template(_scope("GET", f"/api/v1/stores/{index}/orders"))
        for index in range(MAX_REMEMBERED_TEMPLATES + 10)
    }

    assert templates == {ORDERS_TEMPLATE}
    assert len(middleware._templates) <= MAX_REMEMBERED_TEMPLATES


def test_new_routes_forget_templates(app: FastAPI) -> None:
    middleware = HttpMetricsMiddleware(app.router, routes=app.router.routes)
    path = "/added-after-start"
    assert middleware._route_template(_scope("GET", path)) == "<unmatched>"

    @app.get(path)
    async def added() -> dict[str, str]:
        """Return nothing of interest; the route exists for this test only."""
        return {}

    assert middleware._route_template(_scope("GET", path)) == path
