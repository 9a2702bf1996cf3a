"""Delivery zone geometry: GeoJSON validation, great-circle distance and the zone choice.

Every function here is pure. ``zones_service`` loads the rows and calls them.

Which zone serves a point:

1. A polygon zone contains a point inside it or on its boundary (shapely ``covers``), so a
   point on the edge shared by two adjacent zones is in both of them.
2. A radius zone contains a point whose great-circle distance from the store is at most
   ``radius_meters``.
3. Among the active zones that contain the point, the highest ``priority`` wins, then the
   lowest fee, then the zone created first (then the lowest id, so the choice never varies).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from zapora.errors import InvalidInputError
from zapora.stores.models import DeliveryZone, Store, ZoneKind

# Mean Earth radius (IUGG), in metres.
EARTH_RADIUS_METERS = 6_371_008.8
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
# A chosen limit: enough for an outline of city streets drawn by hand, small enough to keep
# each row and each point check cheap.
MAX_POSITIONS = 5_000


class OutsideDeliveryAreaError(InvalidInputError):
    """The point lies in none of the store's active delivery zones."""

    code = "outside_delivery_area"
    title = "Outside the delivery area"


def haversine_meters(
    latitude: float, longitude: float, other_latitude: float, other_longitude: float
) -> float:
    """Return the great-circle distance between two points in metres (haversine formula)."""
    phi1 = math.radians(latitude)
    phi2 = math.radians(other_latitude)
    d_phi = phi2 - phi1
    d_lambda = math.radians(other_longitude - longitude)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_METERS * math.asin(min(1.0, math.sqrt(h)))


def _invalid(detail: str, field: str, fix: str) -> InvalidInputError:
    return InvalidInputError(detail, field=field, fix=fix)


def _shown(value: Any) -> str:
    # A JSON number can have hundreds of digits, and the message only needs to identify it.
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _degrees(value: int | float) -> float:
    # An integer too large for a float is outside every coordinate range anyway.
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _position(value: Any, field: str) -> list[float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(part, int | float) and not isinstance(part, bool) for part in value)
    ):
        raise _invalid(
            "A position must be [longitude, latitude]: two numbers, without altitude.",
            field,
            "send each position as [longitude, latitude], longitude first",
        )
    longitude, latitude = _degrees(value[0]), _degrees(value[1])
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise _invalid(
            f"Longitude {_shown(value[0])} is outside -180..180.",
            field,
            "send [longitude, latitude] with the longitude first, between -180 and 180",
        )
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise _invalid(
            f"Latitude {_shown(value[1])} is outside -90..90.",
            field,
            "send [longitude, latitude] with the latitude second, between -90 and 90",
        )
    return [longitude, latitude]


def _check_antimeridian(positions: list[list[float]], field: str) -> None:
    """Reject a ring with an edge spanning more than 180 degrees of longitude.

    Such an edge is meant to cross the antimeridian, but the planar geometry of shapely
    draws it the long way round the globe instead.
    """
    for index in range(1, len(positions)):
        previous, current = positions[index - 1][0], positions[index][0]
        if abs(current - previous) > 180:
            raise _invalid(
                f"The edge from longitude {previous} to {current} crosses the antimeridian.",
                f"{field}[{index}]",
                "split the zone at the antimeridian into a MultiPolygon with one polygon "
                "on each side",
            )


def _ring(value: Any, field: str) -> list[list[float]]:
    if not isinstance(value, list):
        raise _invalid("A linear ring must be a list of positions.", field, "send a list")
    positions = [_position(point, f"{field}[{index}]") for index, point in enumerate(value)]
    if len(positions) < 4:
        raise _invalid(
            f"A linear ring needs at least 4 positions and has {len(positions)}.",
            field,
            "send at least three corners and repeat the first position at the end",
        )
    if positions[0] != positions[-1]:
        raise _invalid(
            "The linear ring is not closed: its last position differs from its first.",
            field,
            "repeat the first position as the last one",
        )
    _check_antimeridian(positions, field)
    return positions


def _polygon(value: Any, field: str) -> list[list[list[float]]]:
    if not isinstance(value, list) or not value:
        raise _invalid(
            "A polygon must be a non-empty list of linear rings.",
            field,
            "send [outer ring, optional holes...]",
        )
    return [_ring(ring, f"{field}[{index}]") for index, ring in enumerate(value)]


def validate_geometry(geometry: Any, field: str = "geometry") -> dict[str, Any]:
    """Check a GeoJSON Polygon or MultiPolygon (RFC 7946) and return it normalised.

    Raise InvalidInputError naming the offending part: a wrong type, an unclosed or short
    ring, a coordinate out of range, a position with altitude, an edge crossing the
    antimeridian, or a shape shapely finds invalid (self-intersections).
    """
    if not isinstance(geometry, dict):
        raise _invalid("The geometry must be a GeoJSON object.", field, "send a GeoJSON Polygon")
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        raise _invalid(
            f"Geometry type '{kind}' is not supported.",
            f"{field}.type",
            "send a GeoJSON Polygon or MultiPolygon",
        )
    coordinates = geometry.get("coordinates")
    path = f"{field}.coordinates"
    if kind == "Polygon":
        normalised: Any = _polygon(coordinates, path)
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise _invalid(
                "A MultiPolygon needs a non-empty list of polygons.",
                path,
                "send a list of polygons",
            )
        normalised = [_polygon(part, f"{path}[{index}]") for index, part in enumerate(coordinates)]
    result = {"type": kind, "coordinates": normalised}
    built = to_shape(result)
    if shapely.get_num_coordinates(built) > MAX_POSITIONS:
        raise _invalid(
            f"The geometry has more than {MAX_POSITIONS} positions.",
            path,
            "simplify the outline",
        )
    if not built.is_valid:
        raise _invalid(
            f"The geometry is invalid: {explain_validity(built)}.",
            path,
            "draw the outline without self-intersections, crossing holes or overlapping polygons",
        )
    return result


def to_shape(geometry: dict[str, Any]) -> BaseGeometry:
    """Build the shapely geometry of a stored GeoJSON Polygon or MultiPolygon."""
    built = shape(geometry)
    if not isinstance(built, Polygon | MultiPolygon):
        raise TypeError(f"expected a Polygon or MultiPolygon, got {built.geom_type}")
    return built


def zone_contains(zone: DeliveryZone, store: Store, latitude: float, longitude: float) -> bool:
    """Return whether ``zone`` serves the point, counting its boundary as inside."""
    if zone.kind == ZoneKind.RADIUS.value:
        if store.latitude is None or store.longitude is None or zone.radius_meters is None:
            return False
        distance = haversine_meters(store.latitude, store.longitude, latitude, longitude)
        return distance <= zone.radius_meters
    if zone.geometry is None:
        return False
    return bool(to_shape(zone.geometry).covers(Point(longitude, latitude)))


def _rank(zone: DeliveryZone) -> tuple[int, int, Any, str]:
    return (-zone.priority, zone.fee, zone.created_at, str(zone.id))


def choose_zone(
    zones: Iterable[DeliveryZone], store: Store, latitude: float, longitude: float
) -> DeliveryZone | None:
    """Return the active zone serving the point by the rule in this module's docstring."""
    matches: Sequence[DeliveryZone] = [
        zone for zone in zones if zone.is_active and zone_contains(zone, store, latitude, longitude)
    ]
    return min(matches, key=_rank, default=None)


def outside_error(latitude: float, longitude: float) -> OutsideDeliveryAreaError:
    """Build the 422 for a point that no active zone serves."""
    return OutsideDeliveryAreaError(
        f"The location ({latitude:.5f}, {longitude:.5f}) is outside every delivery zone of "
        "this store.",
        field="latitude",
        fix="send a location inside the delivery area, or choose pickup",
        extra={"latitude": latitude, "longitude": longitude},
    )
