"""Zone input that must be rejected with a 422: odd coordinates, loose types, hidden text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import make_shop
from tests.stores.test_zones_api import create_zone, polygon_body, zones_url
from tests.stores.test_zones_geometry import WEST, polygon
from zapora.errors import InvalidInputError
from zapora.stores.models import DeliveryZone
from zapora.stores.zones import validate_geometry

HUGE = 10**400
LONGITUDE_FIX = "send [longitude, latitude] with the longitude first, between -180 and 180"
LATITUDE_FIX = "send [longitude, latitude] with the latitude second, between -90 and 90"
# A square around Fiji from 179 E to 179 W, written as it is meant: across the antimeridian.
ACROSS_ANTIMERIDIAN = [[179.0, -17.0], [-179.0, -17.0], [-179.0, -18.0], [179.0, -18.0]]


def ring_with(index: int, position: list[Any]) -> list[list[Any]]:
    ring: list[list[Any]] = [list(point) for point in WEST]
    ring[index] = position
    if index == 0:
        ring[-1] = position
    return ring


def rejection(geometry: dict[str, Any]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        validate_geometry(geometry)
    return caught.value


@pytest.mark.parametrize(
    ("position", "fix"),
    [
        ([HUGE, -23.6], LONGITUDE_FIX),
        ([-HUGE, -23.6], LONGITUDE_FIX),
        ([-46.6, HUGE], LATITUDE_FIX),
    ],
)
def test_huge_integer_position_rejected(position: list[Any], fix: str) -> None:
    error = rejection(polygon(ring_with(1, position)))

    assert error.field == "geometry.coordinates[0][1]"
    assert error.fix == fix
    assert len(error.detail) < 80


def test_position_with_altitude_rejected() -> None:
    error = rejection(polygon(ring_with(2, [-46.65, -23.55, 760.0])))

    assert error.field == "geometry.coordinates[0][2]"
    assert "altitude" in error.detail


def test_antimeridian_crossing_rejected() -> None:
    ring = [*ACROSS_ANTIMERIDIAN, ACROSS_ANTIMERIDIAN[0]]

    error = rejection(polygon(ring))

    assert error.field == "geometry.coordinates[0][1]"
    assert error.fix is not None
    assert "split the zone at the antimeridian" in error.fix


def test_zone_up_to_antimeridian_accepted() -> None:
    east_side = [[179.0, -17.0], [180.0, -17.0], [180.0, -18.0], [179.0, -18.0], [179.0, -17.0]]
    west_side = [[-180.0, -17.0], [-179.0, -17.0], [-179.0, -18.0], [-180.0, -18.0]]
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [[east_side], [[*west_side, west_side[0]]]],
    }

    assert validate_geometry(geometry)["type"] == "MultiPolygon"


async def zone_count(session: AsyncSession) -> int:
    await session.commit()
    return int(await session.scalar(select(func.count()).select_from(DeliveryZone)) or 0)


async def test_huge_coordinate_via_api(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)
    body = polygon_body(ring_with(1, [HUGE, -23.6]))

    response = await client.post(zones_url(shop), json=body, headers=shop.headers)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "geometry.coordinates[0][1]"
    assert error["fix"] == LONGITUDE_FIX
    assert await zone_count(session) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fee", True),
        ("fee", "100"),
        ("minimum_order", True),
        ("estimate_minutes", True),
        ("estimate_minutes", "45"),
        ("priority", False),
        ("is_active", "yes"),
        ("is_active", 1),
    ],
)
async def test_loose_types_rejected(
    session: AsyncSession, client: httpx.AsyncClient, field: str, value: Any
) -> None:
    shop = await make_shop(session, client)

    created = await client.post(
        zones_url(shop), json=polygon_body(**{field: value}), headers=shop.headers
    )

    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["field"] == f"body.{field}"
    assert await zone_count(session) == 0


async def test_loose_types_rejected_on_update(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    zone = await create_zone(client, shop)
    zone_url = f"{zones_url(shop)}/{zone['id']}"

    for field, value in (("fee", True), ("estimate_minutes", "30"), ("is_active", "no")):
        response = await client.patch(zone_url, json={field: value}, headers=shop.headers)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == f"body.{field}"
    stored = (await client.get(zone_url, headers=shop.headers)).json()
    assert stored["fee"] == zone["fee"]
    assert stored["is_active"] is True


@pytest.mark.parametrize(
    "name",
    [
        "Centro\u202e",  # right-to-left override
        "Cen\u200btro",  # zero-width space
        "\u2066Centro\u2069",  # left-to-right isolate and its end
        "\ufeffCentro",  # byte order mark
        "Centro\nNorte",
        "Centro\x00",
    ],
)
async def test_hidden_characters_in_name_rejected(
    session: AsyncSession, client: httpx.AsyncClient, name: str
) -> None:
    shop = await make_shop(session, client)

    response = await client.post(
        zones_url(shop), json=polygon_body(name=name), headers=shop.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.name"
    assert await zone_count(session) == 0


async def test_accented_name_accepted(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)

    zone = await create_zone(client, shop, name="São João – Zona 1")

    assert zone["name"] == "São João – Zona 1"


@pytest.mark.parametrize(
    ("field", "value"), [("latitude", "nan"), ("longitude", "inf"), ("latitude", "-Infinity")]
)
async def test_quote_not_finite(
    session: AsyncSession, client: httpx.AsyncClient, field: str, value: str
) -> None:
    shop = await make_shop(session, client)
    point = {"latitude": "-23.57", "longitude": "-46.68", field: value}

    response = await client.get(f"{zones_url(shop)}/quote", params=point, headers=shop.headers)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == f"query.{field}"
    assert "finite" in error["message"]
