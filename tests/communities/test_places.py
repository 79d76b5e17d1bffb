"""A community's places: kept through the service, in the console with the map picker (scoped),
read by the mini-program; the GCJ-02 conversion the picker's 使用我的位置 uses, in Python and JS."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.communities import services
from backend.communities.models import Place
from backend.core import geo
from backend.core.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# 岳阳楼, GCJ-02.
CENTRE = (Decimal("29.372425"), Decimal("113.093627"))


def place_form(community, **extra):
    return {
        "community": community.pk,
        "name": "东湖社区党群服务中心",
        "kind": "service_centre",
        "address": "东湖路 1 号",
        "latitude": "29.372425",
        "longitude": "113.093627",
        "radius_m": "150",
        **extra,
    }


# The service --------------------------------------------------------------------------------------


def test_create_place_rounds_to_six_places(community):
    place = services.create_place(community=community, name=" 南湖广场 ", latitude=29.37242549, longitude=113.0936)
    assert place.name == "南湖广场" and place.kind == Place.Kind.SERVICE_CENTRE
    assert place.latitude == Decimal("29.372425") and place.radius_m == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"latitude": 91}, "latitude"),
        ({"latitude": "nan"}, "latitude"),
        ({"longitude": 181}, "latitude"),
        ({"radius_m": 5}, "radius_m"),
        ({"radius_m": 6000}, "radius_m"),
        ({"name": ""}, "name"),
        ({"kind": "castle"}, "kind"),
    ],
)
def test_bad_places_are_refused_and_nothing_is_written(community, changes, field):
    values = {"name": "广场", "latitude": CENTRE[0], "longitude": CENTRE[1], **changes}
    with pytest.raises(DomainError) as refused:
        services.create_place(community=community, **values)
    assert refused.value.code == "validation_error" and field in refused.value.fields
    assert not Place.objects.exists()


def test_a_name_is_unique_within_its_community(community, other_community):
    services.create_place(community=community, name="广场", latitude=CENTRE[0], longitude=CENTRE[1])
    services.create_place(community=other_community, name="广场", latitude=CENTRE[0], longitude=CENTRE[1])
    with pytest.raises(DomainError) as refused:
        services.create_place(community=community, name="广场", latitude=CENTRE[0], longitude=CENTRE[1])
    assert refused.value.fields == {"name": ["该社区已有同名场所"]}


def test_update_place(community):
    place = services.create_place(community=community, name="广场", latitude=CENTRE[0], longitude=CENTRE[1])
    other = services.create_place(community=community, name="中心", latitude=CENTRE[0], longitude=CENTRE[1])
    services.update_place(place=place, radius_m=300, name="文化广场")
    place.refresh_from_db()
    assert (place.name, place.radius_m) == ("文化广场", 300)
    with pytest.raises(DomainError):
        services.update_place(place=other, name="文化广场")
    with pytest.raises(ValueError):
        services.update_place(place=place, community=community)


# The console --------------------------------------------------------------------------------------


def test_staff_add_a_place_through_the_console_with_the_map(client, community):
    client.force_login(factories.staff_of(community))
    page = client.get("/admin/communities/place/add/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-place-map" in html and "使用我的位置" in html
    assert "console/leaflet/leaflet.js" in html and "console/places.js" in html
    assert "webrd0{s}.is.autonavi.com" in html
    response = client.post("/admin/communities/place/add/", place_form(community))
    assert response.status_code == 302, response.content.decode()[:3000]
    place = Place.objects.get()
    assert place.community == community and place.latitude == Decimal("29.372425") and place.radius_m == 150


def test_the_console_shows_the_services_refusals(client, community):
    services.create_place(community=community, name="东湖社区党群服务中心", latitude=CENTRE[0], longitude=CENTRE[1])
    client.force_login(factories.staff_of(community))
    response = client.post("/admin/communities/place/add/", place_form(community))
    assert response.status_code == 200 and "同名" in response.content.decode()
    response = client.post("/admin/communities/place/add/", place_form(community, name="新广场", radius_m="1"))
    assert response.status_code == 200
    assert Place.objects.count() == 1


def test_staff_cannot_place_into_another_community(client, community, other_community):
    foreign = services.create_place(community=other_community, name="别处", latitude=CENTRE[0], longitude=CENTRE[1])
    client.force_login(factories.staff_of(community))
    response = client.post("/admin/communities/place/add/", place_form(other_community))
    assert response.status_code == 200 and not Place.objects.filter(community=other_community, name__contains="东湖")
    assert "别处" not in client.get("/admin/communities/place/").content.decode()
    assert client.get(f"/admin/communities/place/{foreign.pk}/change/").status_code == 302


def test_changing_a_place_in_the_console(client, community):
    place = services.create_place(community=community, name="广场", latitude=CENTRE[0], longitude=CENTRE[1])
    client.force_login(factories.staff_of(community))
    form = place_form(community, name="文化广场", radius_m="300")
    del form["community"]
    response = client.post(f"/admin/communities/place/{place.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    place.refresh_from_db()
    assert (place.name, place.radius_m, place.community) == ("文化广场", 300, community)


# The API ------------------------------------------------------------------------------------------


def test_the_mini_program_reads_a_communitys_places(api, community, other_community):
    for n in range(3):
        services.create_place(community=community, name=f"场所{n}", latitude=CENTRE[0], longitude=CENTRE[1])
    services.create_place(community=other_community, name="别处", latitude=CENTRE[0], longitude=CENTRE[1])
    with CaptureQueriesContext(connection) as few:
        response = api.get("/api/v1/places/", {"community": community.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["场所0", "场所1", "场所2"]
    assert rows[0]["kind_label"] == "党群服务中心" and rows[0]["radius_m"] == 200
    services.create_place(community=community, name="场所3", latitude=CENTRE[0], longitude=CENTRE[1])
    with CaptureQueriesContext(connection) as more:
        api.get("/api/v1/places/", {"community": community.pk})
    assert len(more) == len(few)


# WGS-84 → GCJ-02 --------------------------------------------------------------------------------


def test_wgs84_to_gcj02_known_offsets():
    # Beijing (天安门): the published pair moves about +0.0014° latitude and +0.0062° longitude.
    lat, lon = geo.wgs84_to_gcj02(39.908692, 116.397477)
    assert lat == pytest.approx(39.910092, abs=2e-4) and lon == pytest.approx(116.403718, abs=2e-4)
    # Some hundreds of metres in 岳阳: the reason a browser's fix must be converted.
    lat, lon = geo.wgs84_to_gcj02(29.375, 113.088)
    assert 300 < geo.distance_m(29.375, 113.088, lat, lon) < 800
    # Outside China the datum is WGS-84 itself.
    assert geo.wgs84_to_gcj02(48.8584, 2.2945) == (48.8584, 2.2945)


def test_the_pickers_javascript_converts_as_python_does():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    points = [(29.375 + i * 0.37, 113.088 - i * 1.9) for i in range(12)] + [(48.8584, 2.2945), (22.54, 114.06)]
    script = (
        "global.window = {}; global.document = {readyState: 'complete', querySelectorAll: () => []};"
        f"require({json.dumps(str(ROOT / 'backend/console/static/console/places.js'))});"
        f"console.log(JSON.stringify({json.dumps(points)}.map(p => window.consolePlaces.wgs84ToGcj02(p[0], p[1]))));"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    converted = json.loads(out)
    assert len(converted) == len(points)
    for (lat, lon), (js_lat, js_lon) in zip(points, converted, strict=True):
        py_lat, py_lon = geo.wgs84_to_gcj02(lat, lon)
        assert js_lat == pytest.approx(py_lat, abs=1e-9) and js_lon == pytest.approx(py_lon, abs=1e-9)
