"""Store reports over local days: midnight boundaries, timings, items, cancellations, access."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_user
from tests.orders.builders import Shop
from tests.reports.history import History
from zapora.auth.models import Role

RANGE = {"from": "2026-03-09", "to": "2026-03-10"}


def _url(shop: Shop, report: str) -> str:
    return f"/api/v1/stores/{shop.store.id}/reports/{report}"


async def _report(
    client: httpx.AsyncClient, shop: Shop, report: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(_url(shop, report), params=params, headers=shop.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_daily_follows_local_midnight(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "daily", **RANGE)

    assert body["time_zone"] == "America/Sao_Paulo"
    assert body["currency"] == "BRL"
    assert body["from_date"] == "2026-03-09"
    assert body["to_date"] == "2026-03-10"
    assert body["days"] == [
        {"day": "2026-03-09", "orders": 2, "cancelled": 1, "sales": history.delivered.total},
        {
            "day": "2026-03-10",
            "orders": 3,
            "cancelled": 2,
            "sales": history.picked_up_at_midnight.total,
        },
    ]
    assert history.delivered.total == 10100
    assert history.picked_up_at_midnight.total == 1800


async def test_daily_lists_empty_days(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "daily", **{"from": "2026-03-06", "to": "2026-03-08"})

    assert [day["day"] for day in body["days"]] == ["2026-03-06", "2026-03-07", "2026-03-08"]
    assert [day["orders"] for day in body["days"]] == [0, 0, 1]
    assert body["days"][2]["sales"] == history.before_range.total


async def test_single_day_starts_at_local_midnight(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "daily", **{"from": "2026-03-11", "to": "2026-03-11"})

    assert body["days"] == [{"day": "2026-03-11", "orders": 1, "cancelled": 1, "sales": 0}]


async def test_daily_in_another_zone(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, history: History
) -> None:
    shop.store.time_zone = "Asia/Tokyo"
    await session.commit()

    body = await _report(client, shop, "daily", **{"from": "2026-03-10", "to": "2026-03-11"})

    # Tokyo is UTC+9: 10 March runs from 15:00 UTC on 9 March, so the orders of 15:00 on
    # 9 March and of 02:30 and 03:00 on 10 March fall on it. 18:00 UTC on 10 March and
    # 02:59:59 and 03:00 UTC on 11 March fall on 11 March.
    assert body["time_zone"] == "Asia/Tokyo"
    assert [(day["day"], day["orders"]) for day in body["days"]] == [
        ("2026-03-10", 3),
        ("2026-03-11", 3),
    ]


async def test_unknown_zone_falls_back_to_utc(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, history: History
) -> None:
    shop.store.time_zone = "Mars/Olympus_Mons"
    await session.commit()

    body = await _report(client, shop, "daily", **{"from": "2026-03-10", "to": "2026-03-10"})

    assert body["time_zone"] == "UTC"
    # 02:30, 03:00 and 18:00 UTC on 10 March.
    assert body["days"][0]["orders"] == 3


async def test_timings_average_from_events(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "timings", **RANGE)

    # Accepted after 300 s, 600 s and 100 s; ready after 1200 s and 1800 s; one delivery.
    assert body["placed_to_accepted"] == {
        "average_seconds": pytest.approx(1000 / 3, abs=0.1),
        "orders": 3,
    }
    assert body["placed_to_ready"] == {"average_seconds": 1500.0, "orders": 2}
    assert body["placed_to_delivered"] == {"average_seconds": 2400.0, "orders": 1}


async def test_timings_without_orders_are_null(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "timings", **{"from": "2026-03-01", "to": "2026-03-05"})

    for milestone in ("placed_to_accepted", "placed_to_ready", "placed_to_delivered"):
        assert body[milestone] == {"average_seconds": None, "orders": 0}


async def test_top_items_exclude_cancelled(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "top-items", **RANGE)

    # Cancelled orders (five pizzas, four sodas) and those outside the range do not count.
    assert body["currency"] == "BRL"
    assert body["items"] == [
        {"name": "Soda", "quantity": 4, "revenue": 2400},
        {"name": "Margherita", "quantity": 2, "revenue": 9000},
    ]


async def test_top_items_limit(client: httpx.AsyncClient, shop: Shop, history: History) -> None:
    body = await _report(client, shop, "top-items", **RANGE, limit=1)

    assert body["items"] == [{"name": "Soda", "quantity": 4, "revenue": 2400}]


async def test_cancellations_by_reason(
    client: httpx.AsyncClient, shop: Shop, history: History
) -> None:
    body = await _report(client, shop, "cancellations", **RANGE)

    assert body["total"] == 3
    assert body["reasons"] == [
        {"reason": "out of stock", "count": 2},
        {"reason": "customer gave up", "count": 1},
    ]


@pytest.mark.parametrize("report", ["daily", "timings", "top-items", "cancellations"])
async def test_range_is_validated(client: httpx.AsyncClient, shop: Shop, report: str) -> None:
    cases = [
        ({"from": "2026-03-10", "to": "2026-03-09"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "query.from"),
        ({"from": "2026-03-01", "to": "tomorrow"}, "query.to"),
        ({"from": "2026-03-01"}, "query.to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "to"),
    ]
    for params, field in cases:
        response = await client.get(_url(shop, report), params=params, headers=shop.headers)

        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, (params, response.text)


async def test_full_year_range_is_accepted(client: httpx.AsyncClient, shop: Shop) -> None:
    body = await _report(client, shop, "daily", **{"from": "2024-01-01", "to": "2024-12-31"})

    assert len(body["days"]) == 366


async def test_top_items_limit_is_bounded(client: httpx.AsyncClient, shop: Shop) -> None:
    for limit in (0, 101):
        response = await client.get(
            _url(shop, "top-items"), params={**RANGE, "limit": limit}, headers=shop.headers
        )

        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize("report", ["daily", "timings", "top-items", "cancellations"])
async def test_other_store_is_not_found(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop, report: str
) -> None:
    response = await client.get(_url(other_shop, report), params=RANGE, headers=shop.headers)

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


async def test_roles_without_reports_are_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    courier = await make_user(session, shop.store, Role.COURIER)
    staff = await make_user(session, shop.store, Role.STORE_STAFF)
    await session.commit()

    for user in (courier, staff):
        response = await client.get(
            _url(shop, "daily"), params=RANGE, headers=await login(client, user)
        )

        assert response.status_code == 403, response.text
        assert response.json()["code"] == "permission_denied"


async def test_platform_admin_reads_any_store(
    client: httpx.AsyncClient, session: AsyncSession, shop: Shop, history: History
) -> None:
    admin = await make_user(session, None, Role.PLATFORM_ADMIN)
    await session.commit()

    response = await client.get(
        _url(shop, "cancellations"), params=RANGE, headers=await login(client, admin)
    )

    assert response.status_code == 200, response.text
    assert response.json()["total"] == 3
