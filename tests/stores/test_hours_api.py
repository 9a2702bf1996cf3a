"""Opening hours, closures and status routes: validation, access, audit and the status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_store, make_user
from tests.stores.hours_helpers import range_from_now
from zapora.audit.models import AuditEntry
from zapora.auth.models import Role
from zapora.stores.models import Store

WEEK = [
    {"weekday": 4, "opens": "18:00", "closes": "02:00"},
    {"weekday": 0, "opens": "18:00", "closes": "23:00"},
    {"weekday": 0, "opens": "11:00", "closes": "15:00"},
]


async def _manager(
    session: AsyncSession, client: httpx.AsyncClient, role: Role = Role.STORE_MANAGER
) -> tuple[Store, dict[str, str]]:
    store = await make_store(session)
    user = await make_user(session, store, role)
    await session.commit()
    return store, await login(client, user)


def _url(store: Store, path: str) -> str:
    return f"/api/v1/stores/{store.id}/{path}"


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def test_hours_replace_and_read(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)

    empty = await client.get(_url(store, "hours"), headers=headers)
    replaced = await client.put(_url(store, "hours"), json=WEEK, headers=headers)
    read = await client.get(_url(store, "hours"), headers=headers)

    assert empty.status_code == 200, empty.text
    assert empty.json() == []
    assert replaced.status_code == 200, replaced.text
    ordered = [WEEK[2], WEEK[1], WEEK[0]]
    assert replaced.json() == ordered
    assert read.json() == ordered


async def test_hours_replace_is_audited(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    await client.put(_url(store, "hours"), json=[WEEK[0]], headers=headers)

    response = await client.put(_url(store, "hours"), json=[WEEK[1]], headers=headers)

    assert response.status_code == 200, response.text
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "store.hours_updated")
            .order_by(AuditEntry.created_at)
        )
    )
    assert len(entries) == 2
    assert entries[1].store_id == store.id
    assert entries[1].before == {"hours": [WEEK[0]]}
    assert entries[1].after == {"hours": [WEEK[1]]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([WEEK[0], {"weekday": 1, "opens": "24:00", "closes": "02:00"}], "body[1].opens"),
        ([{"weekday": 1, "opens": "9:00", "closes": "12:00"}], "body[0].opens"),
        ([{"weekday": 7, "opens": "09:00", "closes": "12:00"}], "body[0].weekday"),
        ([{"weekday": 2, "opens": "09:00", "closes": "09:00"}], "body[0].closes"),
        ([WEEK[2], {"weekday": 0, "opens": "14:30", "closes": "16:00"}], "body[1].opens"),
        ([WEEK[0], {"weekday": 5, "opens": "01:00", "closes": "03:00"}], "body[1].opens"),
        ([{"weekday": 1, "opens": "09:00"}], "body[0].closes"),
    ],
)
async def test_hours_validation(
    client: httpx.AsyncClient, session: AsyncSession, body: list[dict[str, object]], field: str
) -> None:
    store, headers = await _manager(session, client)
    await client.put(_url(store, "hours"), json=[WEEK[1]], headers=headers)

    response = await client.put(_url(store, "hours"), json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    unchanged = await client.get(_url(store, "hours"), headers=headers)
    assert unchanged.json() == [WEEK[1]]


async def test_hours_other_store_not_found(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await _manager(session, client)
    other = await make_store(session)
    await session.commit()

    for method, path, body in [
        ("GET", "hours", None),
        ("PUT", "hours", WEEK),
        ("GET", "closures", None),
        ("POST", "closures", {"day": "2026-12-25"}),
        ("GET", "status", None),
    ]:
        response = await client.request(method, _url(other, path), json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.text)


async def test_staff_reads_but_cannot_write(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store, headers = await _manager(session, client, Role.STORE_STAFF)

    read = await client.get(_url(store, "hours"), headers=headers)
    status = await client.get(_url(store, "status"), headers=headers)
    write = await client.put(_url(store, "hours"), json=WEEK, headers=headers)
    closure = await client.post(
        _url(store, "closures"), json={"day": "2026-12-25"}, headers=headers
    )

    assert read.status_code == 200, read.text
    assert status.status_code == 200, status.text
    assert write.status_code == 403, write.text
    assert closure.status_code == 403, closure.text


async def test_closures_add_list_delete(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    url = _url(store, "closures")

    christmas = await client.post(
        url, json={"day": "2026-12-25", "reason": "Natal"}, headers=headers
    )
    new_year = await client.post(url, json={"day": "2027-01-01"}, headers=headers)
    duplicate = await client.post(url, json={"day": "2026-12-25"}, headers=headers)
    listed = await client.get(url, headers=headers)

    assert christmas.status_code == 201, christmas.text
    assert christmas.json()["reason"] == "Natal"
    assert new_year.status_code == 201, new_year.text
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["errors"][0]["field"] == "day"
    assert [row["day"] for row in listed.json()] == ["2026-12-25", "2027-01-01"]

    closure_id = christmas.json()["id"]
    deleted = await client.delete(f"{url}/{closure_id}", headers=headers)
    again = await client.delete(f"{url}/{closure_id}", headers=headers)
    remaining = await client.get(url, headers=headers)

    assert deleted.status_code == 204, deleted.text
    assert again.status_code == 404, again.text
    assert [row["day"] for row in remaining.json()] == ["2027-01-01"]
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("store.closure%"))
            .order_by(AuditEntry.created_at)
        )
    )
    assert actions == ["store.closure_added", "store.closure_added", "store.closure_deleted"]


async def test_closure_of_other_store_not_found(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store, headers = await _manager(session, client)
    other, other_headers = await _manager(session, client)
    created = await client.post(
        _url(other, "closures"), json={"day": "2026-12-25"}, headers=other_headers
    )

    response = await client.delete(
        f"{_url(store, 'closures')}/{created.json()['id']}", headers=headers
    )

    assert response.status_code == 404, response.text
    still_there = await client.get(_url(other, "closures"), headers=other_headers)
    assert len(still_there.json()) == 1


async def test_closure_validation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)

    bad_day = await client.post(
        _url(store, "closures"), json={"day": "2026-02-30"}, headers=headers
    )
    long_reason = await client.post(
        _url(store, "closures"), json={"day": "2026-12-25", "reason": "x" * 201}, headers=headers
    )

    assert bad_day.status_code == 422, bad_day.text
    assert bad_day.json()["errors"][0]["field"] == "body.day"
    assert long_reason.status_code == 422, long_reason.text
    assert long_reason.json()["errors"][0]["field"] == "body.reason"


async def test_status_without_hours(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)

    response = await client.get(_url(store, "status"), headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["open"] is True
    assert body["is_open_switch"] is True
    assert body["closes_at"] is None
    assert body["opens_next_at"] is None


async def test_status_open_by_hours(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    current, _, end = range_from_now(store.time_zone, -60, 180)
    await client.put(_url(store, "hours"), json=[current], headers=headers)

    body = (await client.get(_url(store, "status"), headers=headers)).json()

    assert body["open"] is True
    assert _instant(body["closes_at"]) == end
    assert _instant(body["last_order_at"]) == end
    assert body["closes_at_local"].endswith("-03:00")
    assert _instant(body["closes_at_local"]) == end
    assert body["time_zone"] == "America/Sao_Paulo"


async def test_status_closed_by_hours(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    later, start, _ = range_from_now(store.time_zone, 120, 60)
    await client.put(_url(store, "hours"), json=[later], headers=headers)

    body = (await client.get(_url(store, "status"), headers=headers)).json()

    assert body["open"] is False
    assert body["closes_at"] is None
    assert _instant(body["opens_next_at"]) == start
    assert body["opens_next_at_local"].startswith(
        f"{start.astimezone(ZoneInfo(store.time_zone)):%Y-%m-%dT%H:%M}"
    )


async def test_status_lead_time(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    current, start, _ = range_from_now(store.time_zone, -60, 120)
    await client.put(_url(store, "hours"), json=[current], headers=headers)

    patched = await client.patch(
        f"/api/v1/stores/{store.id}", json={"last_order_lead_minutes": 90}, headers=headers
    )
    body = (await client.get(_url(store, "status"), headers=headers)).json()

    assert patched.status_code == 200, patched.text
    assert patched.json()["last_order_lead_minutes"] == 90
    assert body["open"] is False
    # The range takes no more orders, so the next opening is the same range a week later.
    assert _instant(body["opens_next_at"]) == start + timedelta(days=7)


async def test_lead_time_validation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)

    for value in [-1, 721, None]:
        response = await client.patch(
            f"/api/v1/stores/{store.id}", json={"last_order_lead_minutes": value}, headers=headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body.last_order_lead_minutes"


async def test_switch_off_overrides_hours(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    current, _, _ = range_from_now(store.time_zone, -60, 180)
    await client.put(_url(store, "hours"), json=[current], headers=headers)
    await client.patch(f"/api/v1/stores/{store.id}", json={"is_open": False}, headers=headers)

    body = (await client.get(_url(store, "status"), headers=headers)).json()

    assert body["open"] is False
    assert body["is_open_switch"] is False
    assert body["opens_next_at"] is None


async def test_closure_today_closes_store(client: httpx.AsyncClient, session: AsyncSession) -> None:
    store, headers = await _manager(session, client)
    current, start, _ = range_from_now(store.time_zone, -60, 180)
    await client.put(_url(store, "hours"), json=[current], headers=headers)
    day = start.astimezone(ZoneInfo(store.time_zone)).date().isoformat()
    await client.post(_url(store, "closures"), json={"day": day}, headers=headers)

    body = (await client.get(_url(store, "status"), headers=headers)).json()

    assert body["open"] is False
    assert _instant(body["opens_next_at"]) == start + timedelta(days=7)
