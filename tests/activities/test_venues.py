"""An activity held at a saved place takes its position, radius and name; 须报名 follows the
category (主题党日 and 三会一课 are open at the door); a member checks in by scan without enrolling."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.activities import services
from backend.activities.models import Activity, CheckIn
from backend.communities import services as place_services
from backend.core.errors import DomainError
from tests import factories
from tests.activities.factories import VENUE, position_body
from tests.activities.test_console import form as console_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre(community):
    return place_services.create_place(
        community=community, name="东湖社区党群服务中心", latitude=VENUE[0], longitude=VENUE[1], radius_m=120
    )


def times():
    start = timezone.now() + timedelta(minutes=10)
    return {"starts_at": start, "ends_at": start + timedelta(hours=2)}


def test_a_venue_gives_position_radius_and_place(community, centre):
    staff = factories.staff_of(community)
    activity = services.create_activity(
        by=staff, community=community, title="主题党日", category="party_day", venue=centre, **times()
    )
    assert (activity.latitude, activity.longitude) == (Decimal("29.372425"), Decimal("113.093627"))
    assert activity.radius_m == 120 and activity.place == "东湖社区党群服务中心"
    # A place text of her own stays; the position still comes from the venue.
    other = services.create_activity(
        by=staff,
        community=community,
        title="三会一课",
        category="three_meetings_one_lesson",
        venue=centre,
        place="党群服务中心二楼会议室",
        latitude=1,
        longitude=1,
        **times(),
    )
    assert other.place == "党群服务中心二楼会议室" and other.latitude == Decimal("29.372425")


def test_another_communitys_venue_is_refused(community, other_community):
    foreign = place_services.create_place(community=other_community, name="别处", latitude=VENUE[0], longitude=VENUE[1])
    with pytest.raises(DomainError) as refused:
        services.create_activity(
            by=factories.staff_of(community), community=community, title="t", category="other", venue=foreign, **times()
        )
    assert "venue" in refused.value.fields
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("category", "required"),
    [("party_day", False), ("three_meetings_one_lesson", False), ("volunteer_service", True), ("party_lesson", True)],
)
def test_enrolment_defaults_by_category(community, centre, category, required):
    activity = services.create_activity(
        by=factories.staff_of(community), community=community, title="t", category=category, venue=centre, **times()
    )
    assert activity.enrollment_required is required
    # Said outright, it holds.
    stated = services.create_activity(
        by=factories.staff_of(community),
        community=community,
        title="t",
        category=category,
        venue=centre,
        enrollment_required=not required,
        **times(),
    )
    assert stated.enrollment_required is (not required)


def api_body(community, **extra) -> dict:
    start = timezone.now() + timedelta(minutes=5)
    return {
        "community": community.pk,
        "title": "t",
        "category": "other",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        **extra,
    }


def test_the_api_creates_at_a_venue_and_a_member_checks_in_by_scan_without_enrolling(as_user, community, centre):
    staff = factories.staff_of(community)
    body = api_body(community, title="七一主题党日", category="party_day", venue=centre.pk)
    response = as_user(staff).post("/api/v1/activities/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["venue"] == centre.pk and data["place"] == centre.name and data["enrollment_required"] is False
    activity = Activity.objects.get(pk=data["id"])
    services.publish_activity(activity=activity, by=staff)
    member = factories.UserFactory(community=community)
    response = as_user(member).post(f"/api/v1/activities/{activity.pk}/check-in/", position_body(activity))
    assert response.status_code == 201, response.json()
    assert CheckIn.objects.filter(activity=activity, user=member).exists()


def test_the_api_asks_for_a_position_without_a_venue(as_user, community):
    response = as_user(factories.staff_of(community)).post("/api/v1/activities/", api_body(community), format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"place", "latitude", "longitude"}
    assert not Activity.objects.exists()


def test_the_api_refuses_another_communitys_venue(as_user, community, other_community):
    foreign = place_services.create_place(community=other_community, name="别处", latitude=VENUE[0], longitude=VENUE[1])
    body = api_body(community, venue=foreign.pk)
    response = as_user(factories.staff_of(community)).post("/api/v1/activities/", body, format="json")
    assert response.status_code == 400 and "venue" in response.json()["fields"]
    assert not Activity.objects.exists()


# The console form ---------------------------------------------------------------------------------


def test_the_console_form_offers_the_communitys_places_and_brands_only(client, community, other_community, centre):
    from tests.brands.factories import BrandFactory

    place_services.create_place(community=other_community, name="别的社区广场", latitude=VENUE[0], longitude=VENUE[1])
    BrandFactory(community=community, name="红色东湖")
    BrandFactory(community=other_community, name="别的社区品牌")
    client.force_login(factories.staff_of(community))
    html = client.get("/admin/activities/activity/add/").content.decode()
    assert "东湖社区党群服务中心" in html and "别的社区广场" not in html
    assert "红色东湖" in html and "别的社区品牌" not in html
    assert "data-place-map" in html and 'data-open-door="party_day three_meetings_one_lesson"' in html
    assert "console/activity_form.js" in html


def test_the_console_creates_at_a_venue_without_coordinates(client, community, centre):
    client.force_login(factories.staff_of(community))
    body = console_form(community, venue=centre.pk, place="", latitude="", longitude="", category="party_day")
    response = client.post("/admin/activities/activity/add/", body)
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get()
    assert activity.venue == centre and activity.place == centre.name and activity.radius_m == 120


def test_the_console_asks_for_a_venue_or_a_point(client, community):
    client.force_login(factories.staff_of(community))
    response = client.post("/admin/activities/activity/add/", console_form(community, latitude="", longitude=""))
    assert response.status_code == 200 and "请选择活动场所, 或在地图上选点" in response.content.decode()
    assert not Activity.objects.exists()
