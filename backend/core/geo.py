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
from decimal import Decimal

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
