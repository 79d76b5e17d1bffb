import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core import geo

YUEYANGLOU = (29.372425, 113.093627)
latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


def test_same_point_is_zero():
    assert geo.distance_m(*YUEYANGLOU, *YUEYANGLOU) == 0


def test_one_degree_of_latitude_is_about_111_km():
    assert geo.distance_m(0, 0, 1, 0) == pytest.approx(111_195, abs=1)


def test_a_degree_of_longitude_shrinks_with_the_cosine_of_latitude():
    lat = YUEYANGLOU[0]
    expected = 111_195 * math.cos(math.radians(lat))
    assert geo.distance_m(lat, 113.0, lat, 114.0) == pytest.approx(expected, rel=1e-4)


def test_short_distances_at_the_venue():
    # 0.001° of latitude north of 岳阳楼 is 111.2 m.
    assert geo.distance_m(*YUEYANGLOU, YUEYANGLOU[0] + 0.001, YUEYANGLOU[1]) == pytest.approx(111.2, abs=0.1)


def test_antipodes_are_half_the_circumference():
    assert geo.distance_m(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_RADIUS_M)


def test_decimal_inputs():
    from decimal import Decimal

    assert geo.distance_m(Decimal("29.372425"), Decimal("113.093627"), *YUEYANGLOU) == 0


@pytest.mark.parametrize(
    "position", [(91, 0), (-91, 0), (0, 181), (0, -180.5), (float("nan"), 0), (0, float("inf")), ("x", 0), (None, 0)]
)
def test_impossible_positions_are_refused(position):
    assert not geo.valid_position(*position)
    with pytest.raises(ValueError):
        geo.distance_m(*position, *YUEYANGLOU)


def test_within_separates_the_fence_from_the_allowance():
    point = (YUEYANGLOU[0] + 0.002, YUEYANGLOU[1])  # about 222 m north
    distance, inside, accepted = geo.within(centre=YUEYANGLOU, point=point, radius_m=200)
    assert round(distance) == 222 and not inside and not accepted
    distance, inside, accepted = geo.within(centre=YUEYANGLOU, point=point, radius_m=200, allowance_m=30)
    assert not inside and accepted
    # A negative allowance is no allowance, never a smaller fence.
    assert geo.within(centre=YUEYANGLOU, point=YUEYANGLOU, radius_m=10, allowance_m=-50)[2]


@given(latitudes, longitudes, latitudes, longitudes)
def test_symmetric_and_bounded(lat1, lon1, lat2, lon2):
    there = geo.distance_m(lat1, lon1, lat2, lon2)
    back = geo.distance_m(lat2, lon2, lat1, lon1)
    assert there == pytest.approx(back, abs=1e-6)
    assert 0 <= there <= math.pi * geo.EARTH_RADIUS_M + 1e-6
