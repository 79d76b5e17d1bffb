"""Distances on the ground between two positions given as latitude and longitude in degrees.

Both positions must be in the same datum. In China the mini-program asks `wx.getLocation` for
GCJ-02 (the datum of Chinese maps) and activities store GCJ-02 coordinates picked on such a map;
a WGS-84 position (the call's default) lies some hundreds of metres away from its GCJ-02 twin,
which is far more than any geofence, so the two must never be mixed. Over the few hundred metres
a geofence spans, GCJ-02's offset is practically constant and the haversine distance between two
GCJ-02 points is the true distance to well under a metre.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

# The mean Earth radius (IUGG): the haversine formula on a sphere of this radius is within 0.5 %
# of the ellipsoidal distance anywhere, and far closer over short spans.
EARTH_RADIUS_M = 6_371_008.8

Number = float | int | Decimal


def valid_position(latitude: Number, longitude: Number) -> bool:
    """Whether the pair is a position at all (finite, latitude within ±90, longitude within ±180)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def quantize_degrees(value: Any) -> Any:
    """Six decimal places (about 0.1 m): maps and phones send more digits than that means.

    A value that is no number is returned as it came, for the field's own validation to refuse.
    """
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, TypeError, ValueError):
        return value


def distance_m(lat1: Number, lon1: Number, lat2: Number, lon2: Number) -> float:
    """The great-circle (haversine) distance in metres between two positions in degrees."""
    if not (valid_position(lat1, lon1) and valid_position(lat2, lon2)):
        raise ValueError("latitude must lie within ±90 and longitude within ±180 degrees")
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    d_phi = phi2 - phi1
    d_lambda = math.radians(float(lon2) - float(lon1))
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min(): rounding can push h a hair above 1 for antipodal points, outside asin's domain.
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def within(
    *,
    centre: tuple[Number, Number],
    point: tuple[Number, Number],
    radius_m: Number,
    allowance_m: Number = 0,
) -> tuple[float, bool, bool]:
    """(distance, inside the radius itself, accepted within radius plus allowance).

    The allowance is how far a reported position may be off: a phone that says it is accurate to
    50 m and reports a point 20 m outside the fence may well be inside it.
    """
    distance = distance_m(centre[0], centre[1], point[0], point[1])
    radius = float(radius_m)
    return distance, distance <= radius, distance <= radius + max(0.0, float(allowance_m))


# GCJ-02 from WGS-84: the published approximation of the datum's obfuscation (Krasovsky ellipsoid
# constants). A browser's geolocation reports WGS-84; activities and the mini-program use GCJ-02.
# console/static/console/places.js carries the same formula; a test holds the two together.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def outside_china(latitude: Number, longitude: Number) -> bool:
    """The rough box outside which GCJ-02 equals WGS-84 (the formula is only applied inside it)."""
    lat, lon = float(latitude), float(longitude)
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def wgs84_to_gcj02(latitude: Number, longitude: Number) -> tuple[float, float]:
    """(latitude, longitude) in GCJ-02 for a WGS-84 position, such as a browser's geolocation."""
    lat, lon = float(latitude), float(longitude)
    if outside_china(lat, lon):
        return lat, lon
    d_lat = _transform_lat(lon - 105.0, lat - 35.0)
    d_lon = _transform_lon(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lon + d_lon
