"""Zone geometry without a database: GeoJSON checks, distances and the zone choice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zapora.errors import InvalidInputError
from zapora.stores.models import DeliveryZone, Store, ZoneKind
from zapora.stores.zones import choose_zone, haversine_meters, validate_geometry, zone_contains

WEST = [[-46.70, -23.60], [-46.65, -23.60], [-46.65, -23.55], [-46.70, -23.55], [-46.70, -23.60]]
EAST = [[-46.65, -23.60], [-46.60, -23.60], [-46.60, -23.55], [-46.65, -23.55], [-46.65, -23.60]]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def zone(ring: list[list[float]] | None = None, *, age: int = 0, **values: Any) -> DeliveryZone:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "zone",
        "kind": ZoneKind.POLYGON.value,
        "geometry": polygon(ring) if ring else None,
        "radius_meters": None,
        "fee": 500,
        "minimum_order": 0,
        "estimate_minutes": 30,
        "priority": 0,
        "is_active": True,
        "created_at": EPOCH - timedelta(minutes=age),
    }
    fields.update(values)
    return DeliveryZone(**fields)


STORE = Store(latitude=-23.5614, longitude=-46.6559)


def invalid(geometry: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        validate_geometry(geometry)
    return caught.value


def test_haversine_known_distance() -> None:
    # Praça da Sé to Avenida Paulista 1000 is about 2.6 km in a straight line.
    distance = haversine_meters(-23.5505, -46.6333, -23.5614, -46.6559)
    assert 2_500 < distance < 2_700
    # One degree of latitude is about 111.2 km on the mean-radius sphere.
    assert haversine_meters(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_meters(10, 20, 10, 20) == 0


def test_valid_polygon_normalised() -> None:
    ints = [[-46, -23], [-45, -23], [-45, -22], [-46, -22], [-46, -23]]
    result = validate_geometry(polygon(ints))
    assert result["type"] == "Polygon"
    assert result["coordinates"][0][0] == [-46.0, -23.0]


def test_multipolygon_accepted() -> None:
    far_east = [[lon + 0.1, lat] for lon, lat in EAST]
    result = validate_geometry({"type": "MultiPolygon", "coordinates": [[WEST], [far_east]]})
    assert len(result["coordinates"]) == 2


def test_multipolygon_parts_sharing_edge_rejected() -> None:
    # The parts of one MultiPolygon may touch at points only, but two zones may share an edge.
    error = invalid({"type": "MultiPolygon", "coordinates": [[WEST], [EAST]]})
    assert error.field == "geometry.coordinates"


def test_unsupported_type_rejected() -> None:
    error = invalid({"type": "Point", "coordinates": [-46.6, -23.5]})
    assert error.field == "geometry.type"
    assert error.fix is not None
    assert "Polygon" in error.fix


def test_unclosed_ring_rejected() -> None:
    error = invalid(polygon([*WEST[:-1], [-46.69, -23.60]]))
    assert error.field == "geometry.coordinates[0]"
    assert "not closed" in error.detail
    assert error.fix == "repeat the first position as the last one"


def test_short_ring_rejected() -> None:
    error = invalid(polygon([[-46.70, -23.60], [-46.65, -23.60], [-46.70, -23.60]]))
    assert error.field == "geometry.coordinates[0]"
    assert "at least 4 positions" in error.detail


def test_longitude_out_of_range_rejected() -> None:
    ring = [[-190.0, -23.6], [-46.6, -23.6], [-46.6, -23.5], [-190.0, -23.6]]
    error = invalid(polygon(ring))
    assert error.field == "geometry.coordinates[0][0]"
    assert "Longitude -190.0" in error.detail


def test_latitude_out_of_range_rejected() -> None:
    # Latitude first is the usual mistake: -46 is fine as a latitude but 95 is not.
    ring = [[-23.6, -46.7], [-23.6, 95.0], [-23.5, -46.6], [-23.6, -46.7]]
    error = invalid(polygon(ring))
    assert error.field == "geometry.coordinates[0][1]"
    assert "Latitude 95.0" in error.detail


def test_self_intersection_rejected() -> None:
    bow_tie = [[-46.70, -23.60], [-46.60, -23.55], [-46.60, -23.60], [-46.70, -23.55]]
    error = invalid(polygon([*bow_tie, bow_tie[0]]))
    assert error.field == "geometry.coordinates"
    assert "Self-intersection" in error.detail
    assert error.fix is not None
    assert "self-intersections" in error.fix


def test_malformed_positions_rejected() -> None:
    assert invalid(polygon([["a", "b"]] * 4)).field == "geometry.coordinates[0][0]"
    assert invalid({"type": "Polygon", "coordinates": []}).field == "geometry.coordinates"
    assert invalid("not an object").field == "geometry"
    assert invalid({"type": "MultiPolygon", "coordinates": [[]]}).field == (
        "geometry.coordinates[0]"
    )


def test_point_inside_and_outside() -> None:
    west = zone(WEST)
    assert zone_contains(west, STORE, -23.57, -46.68)
    assert not zone_contains(west, STORE, -23.57, -46.62)


def test_shared_edge_belongs_to_both() -> None:
    west, east = zone(WEST), zone(EAST)
    assert zone_contains(west, STORE, -23.575, -46.65)
    assert zone_contains(east, STORE, -23.575, -46.65)


def test_radius_zone_boundary() -> None:
    ring = zone(kind=ZoneKind.RADIUS.value, radius_meters=1000)
    # 0.008 degrees of latitude is about 890 m, 0.01 about 1112 m.
    assert zone_contains(ring, STORE, -23.5614 + 0.008, -46.6559)
    assert not zone_contains(ring, STORE, -23.5614 + 0.01, -46.6559)
    assert not zone_contains(ring, Store(latitude=None, longitude=None), -23.5614, -46.6559)


def test_choice_by_priority_then_fee_then_age() -> None:
    cheap = zone(WEST, fee=300, name="cheap")
    favoured = zone(WEST, fee=900, priority=5, name="favoured")
    assert choose_zone([cheap, favoured], STORE, -23.57, -46.68) is favoured

    dear = zone(WEST, fee=900, name="dear")
    assert choose_zone([dear, cheap], STORE, -23.57, -46.68) is cheap

    older = zone(WEST, age=10, name="older")
    newer = zone(WEST, age=1, name="newer")
    assert choose_zone([newer, older], STORE, -23.57, -46.68) is older


def test_inactive_zone_ignored() -> None:
    asleep = zone(WEST, is_active=False)
    assert choose_zone([asleep], STORE, -23.57, -46.68) is None
