"""The delivery zone API: create, read, change and delete zones, and quote a location."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_user
from tests.orders.builders import Shop, make_shop
from tests.stores.test_zones_geometry import EAST, WEST, polygon
from zapora.audit.models import AuditEntry
from zapora.auth.models import Role
from zapora.stores.models import DeliveryZone

# Inside WEST, inside EAST, on their shared edge, and outside both.
IN_WEST = {"latitude": -23.57, "longitude": -46.68}
IN_EAST = {"latitude": -23.57, "longitude": -46.62}
ON_EDGE = {"latitude": -23.575, "longitude": -46.65}
OUTSIDE = {"latitude": -23.40, "longitude": -46.40}


def zones_url(shop: Shop) -> str:
    return f"/api/v1/stores/{shop.store.id}/zones"


def polygon_body(ring: list[list[float]] = WEST, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Oeste",
        "kind": "polygon",
        "geometry": polygon(ring),
        "fee": 800,
        "minimum_order": 2500,
        "estimate_minutes": 45,
    }
    body.update(values)
    return body


async def create_zone(client: httpx.AsyncClient, shop: Shop, **values: Any) -> dict[str, Any]:
    response = await client.post(zones_url(shop), json=polygon_body(**values), headers=shop.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def quote(client: httpx.AsyncClient, shop: Shop, point: dict[str, float]) -> httpx.Response:
    return await client.get(f"{zones_url(shop)}/quote", params=point, headers=shop.headers)


async def test_zone_crud_and_audit(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)
    created = await create_zone(client, shop)
    assert created["kind"] == "polygon"
    assert created["fee"] == 800
    assert created["geometry"]["coordinates"][0][0] == [-46.70, -23.60]
    zone_url = f"{zones_url(shop)}/{created['id']}"

    listed = (await client.get(zones_url(shop), headers=shop.headers)).json()
    assert [zone["id"] for zone in listed] == [created["id"]]

    changed = await client.patch(zone_url, json={"fee": 900}, headers=shop.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["fee"] == 900
    assert changed.json()["name"] == "Oeste"

    deleted = await client.delete(zone_url, headers=shop.headers)
    assert deleted.status_code == 204
    assert (await client.get(zone_url, headers=shop.headers)).status_code == 404

    await session.commit()
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_id == created["id"])
            .order_by(AuditEntry.created_at)
        )
    )
    assert actions == [
        "delivery_zone.created",
        "delivery_zone.updated",
        "delivery_zone.deleted",
    ]
    update = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "delivery_zone.updated")
    )
    assert update is not None
    assert update.before == {"fee": 800}
    assert update.after == {"fee": 900}


async def test_invalid_polygon_names_field(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    bow_tie = [[-46.70, -23.60], [-46.60, -23.55], [-46.60, -23.60], [-46.70, -23.55]]
    response = await client.post(
        zones_url(shop), json=polygon_body([*bow_tie, bow_tie[0]]), headers=shop.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "geometry.coordinates"
    assert "Self-intersection" in error["message"]
    assert "without self-intersections" in error["fix"]

    unclosed = await client.post(
        zones_url(shop), json=polygon_body(WEST[:-1]), headers=shop.headers
    )
    assert unclosed.status_code == 422
    assert unclosed.json()["errors"][0]["field"] == "geometry.coordinates[0]"

    await session.commit()
    assert await session.scalar(select(DeliveryZone.id)) is None


async def test_shape_must_match_kind(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client, latitude=-23.56, longitude=-46.65)
    cases = [
        ({"geometry": None}, "geometry"),
        ({"radius_meters": 500}, "radius_meters"),
        ({"kind": "radius", "radius_meters": 500}, "geometry"),
        ({"kind": "radius", "geometry": None}, "radius_meters"),
    ]
    for values, field in cases:
        response = await client.post(
            zones_url(shop), json=polygon_body(**values), headers=shop.headers
        )
        assert response.status_code == 422, values
        assert response.json()["errors"][0]["field"] == field, values


async def test_ring_needs_store_location(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)
    body = polygon_body(kind="radius", geometry=None, radius_meters=2000)
    response = await client.post(zones_url(shop), json=body, headers=shop.headers)
    assert response.status_code == 409
    problem = response.json()
    assert problem["errors"][0]["field"] == "radius_meters"
    assert "latitude and longitude" in problem["errors"][0]["fix"]

    located = await client.patch(
        f"/api/v1/stores/{shop.store.id}",
        json={"latitude": -23.5614, "longitude": -46.6559},
        headers=shop.headers,
    )
    assert located.status_code == 200, located.text
    response = await client.post(zones_url(shop), json=body, headers=shop.headers)
    assert response.status_code == 201, response.text

    near = await quote(client, shop, {"latitude": -23.5614 + 0.01, "longitude": -46.6559})
    assert near.status_code == 200
    assert near.json()["fee"] == 800
    assert (await quote(client, shop, OUTSIDE)).status_code == 422

    # The ring is measured from the location, so it cannot be cleared under it.
    cleared = await client.patch(
        f"/api/v1/stores/{shop.store.id}",
        json={"latitude": None, "longitude": None},
        headers=shop.headers,
    )
    assert cleared.status_code == 409
    assert cleared.json()["errors"][0]["field"] == "latitude"


async def test_quote_inside_outside_and_edge(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    west = await create_zone(client, shop, name="Oeste", fee=800)
    east = await create_zone(client, shop, ring=EAST, name="Leste", fee=600)

    inside = await quote(client, shop, IN_WEST)
    assert inside.status_code == 200
    assert inside.json() == {
        "zone_id": west["id"],
        "zone_name": "Oeste",
        "currency": "BRL",
        "fee": 800,
        "minimum_order": 2500,
        "estimate_minutes": 45,
    }
    assert (await quote(client, shop, IN_EAST)).json()["zone_id"] == east["id"]

    # On the shared edge both contain the point; equal priority, so the lower fee wins.
    edge = await quote(client, shop, ON_EDGE)
    assert edge.json()["zone_id"] == east["id"]

    outside = await quote(client, shop, OUTSIDE)
    assert outside.status_code == 422
    assert outside.json()["code"] == "outside_delivery_area"
    assert outside.json()["errors"][0]["field"] == "latitude"


async def test_overlap_by_priority_and_fee(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    cheap = await create_zone(client, shop, name="Barata", fee=300)
    dear = await create_zone(client, shop, name="Cara", fee=900)
    assert (await quote(client, shop, IN_WEST)).json()["zone_id"] == cheap["id"]

    response = await client.patch(
        f"{zones_url(shop)}/{dear['id']}", json={"priority": 1}, headers=shop.headers
    )
    assert response.status_code == 200
    assert (await quote(client, shop, IN_WEST)).json()["zone_id"] == dear["id"]

    response = await client.patch(
        f"{zones_url(shop)}/{dear['id']}", json={"is_active": False}, headers=shop.headers
    )
    assert response.status_code == 200
    assert (await quote(client, shop, IN_WEST)).json()["zone_id"] == cheap["id"]


async def test_quote_without_zones_is_flat_fee(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    response = await quote(client, shop, OUTSIDE)
    assert response.status_code == 200
    assert response.json()["zone_id"] is None
    assert response.json()["fee"] == shop.store.delivery_fee
    assert response.json()["minimum_order"] == shop.store.minimum_order


async def test_other_store_zone_not_found(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)
    other = await make_shop(session, client)
    theirs = await create_zone(client, other)
    url = f"{zones_url(shop)}/{theirs['id']}"

    assert (await client.get(url, headers=shop.headers)).status_code == 404
    patched = await client.patch(url, json={"fee": 1}, headers=shop.headers)
    assert patched.status_code == 404
    assert (await client.delete(url, headers=shop.headers)).status_code == 404
    # Through the other store's own path, with this store's login.
    foreign = await client.get(zones_url(other), headers=shop.headers)
    assert foreign.status_code == 404
    assert (await client.get(zones_url(shop), headers=shop.headers)).json() == []


async def test_staff_read_but_cannot_write(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    shop = await make_shop(session, client)
    staff = await make_user(session, shop.store, Role.STORE_STAFF)
    await session.commit()
    headers = await login(client, staff)
    assert (await client.get(zones_url(shop), headers=headers)).status_code == 200
    denied = await client.post(zones_url(shop), json=polygon_body(), headers=headers)
    assert denied.status_code == 403


async def test_store_delivery_settings(session: AsyncSession, client: httpx.AsyncClient) -> None:
    shop = await make_shop(session, client)
    url = f"/api/v1/stores/{shop.store.id}"
    body = {
        "typed_address_policy": "refuse",
        "update_template_name": "order_update",
        "update_template_language": "pt_BR",
        "update_template_parameters": ["order_number", "status"],
        "courier_offer_seconds": 90,
    }
    response = await client.patch(url, json=body, headers=shop.headers)
    assert response.status_code == 200, response.text
    for name, value in body.items():
        assert response.json()[name] == value

    bad_cases = [
        ({"latitude": -23.5}, "longitude"),
        ({"latitude": 91, "longitude": 0}, "body.latitude"),
        ({"typed_address_policy": "maybe"}, "body.typed_address_policy"),
        ({"update_template_parameters": ["order_total"]}, "update_template_parameters"),
        ({"update_template_name": "Has Spaces"}, "body.update_template_name"),
        ({"courier_offer_seconds": 5}, "body.courier_offer_seconds"),
    ]
    for values, field in bad_cases:
        response = await client.patch(url, json=values, headers=shop.headers)
        assert response.status_code == 422, values
        assert response.json()["errors"][0]["field"] == field, values
