"""The list of activities is written directly (serializers.activity_rows): it must say exactly what
ActivitySerializer, the schema, says for the same rows, whatever the row holds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from backend.activities import selectors
from backend.activities.models import Activity, Enrollment
from backend.activities.serializers import ActivitySerializer, activity_rows
from backend.brands.models import Brand
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, image_upload, party_member
from tests.activities.test_attendance import phone_check_in

pytestmark = pytest.mark.django_db


def _as_json(data) -> object:
    # Through the renderer, as the response goes: decimals and the like compare as the client sees them.
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def varied(community):
    """Activities that between them fill every field a different way."""
    now = timezone.now()
    staff = factories.staff_of(community)
    member = party_member(community)
    brand = Brand.objects.create(community=community, name="岳阳楼下党旗红")
    branch = factories.OrganizationFactory(community=community)
    plain = ActivityFactory(community=community, organiser=staff, brand=None)
    rich = ActivityFactory(
        community=community,
        organiser=staff,
        brand=brand,
        branch=branch,
        audience=Activity.Audience.BRANCH,
        cover=image_upload(staff),
        capacity=2,
        enrollment_deadline=now + timedelta(hours=3),
        points=5,
        counts_as_service=True,
        checkin_opens_before_minutes=45,
        checkout_closes_after_minutes=15,
        latitude="29.123457",
        longitude="113.000001",
        category=Activity.Category.PARTY_LESSON,
    )
    cancelled = ActivityFactory(
        community=community,
        status=Activity.Status.CANCELLED,
        cancelled_at=now,
        cancel_reason="暴雨停课",
        description="",
        place="",
    )
    enrol(rich, member.user)
    enrol(rich)
    enrol(rich, status=Enrollment.Status.WAITLISTED)
    enrol(plain, member.user, status=Enrollment.Status.WAITLISTED)
    phone_check_in(rich, member.user)
    return member.user, [plain, rich, cancelled]


def test_rows_say_what_the_serializer_says(community, varied):
    user, activities = varied
    request = Request(RequestFactory().get("/api/v1/activities/", HTTP_HOST="testserver"))
    request.user = user
    context = {"request": request}
    rows = list(selectors.with_counts(Activity.objects.filter(pk__in=[a.pk for a in activities]), user=user))
    assert len(rows) == 3
    expected = _as_json(ActivitySerializer(rows, many=True, context=context).data)
    written = _as_json(activity_rows(rows, context=context))
    assert written == expected
    # The fixture fills what it means to: the comparison above covers each shape.
    by_id = {row["id"]: row for row in written}
    rich = by_id[activities[1].pk]
    assert rich["cover_image"]["url"].startswith("http://testserver/")
    assert rich["brand_name"] == "岳阳楼下党旗红" and rich["branch_name"]
    assert (rich["enrolled_count"], rich["waitlisted_count"], rich["checked_in_count"]) == (2, 1, 1)
    assert rich["my_enrollment"] == "enrolled" and rich["my_checked_in"] is True
    assert by_id[activities[0].pk]["my_enrollment"] == "waitlisted"
    assert by_id[activities[2].pk]["cancel_reason"] == "暴雨停课"
    assert list(rich) == ActivitySerializer.Meta.fields


def test_rows_without_a_caller_say_what_the_serializer_says(community, varied):
    _user, activities = varied
    rows = list(selectors.with_counts(Activity.objects.filter(pk__in=[a.pk for a in activities])))
    context = {"request": None}
    assert _as_json(activity_rows(rows, context=context)) == _as_json(
        ActivitySerializer(rows, many=True, context=context).data
    )


def test_the_list_answers_with_the_serializers_rows(as_user, community, varied):
    user, activities = varied
    response = as_user(user).get(f"/api/v1/activities/?community={community.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    ordered = list(
        selectors.with_counts(Activity.objects.filter(pk__in=[a.pk for a in activities]), user=user).order_by(
            "-starts_at", "-id"
        )
    )
    request = response.wsgi_request
    assert body["results"] == _as_json(ActivitySerializer(ordered, many=True, context={"request": request}).data)
