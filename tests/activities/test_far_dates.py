"""Dates near year 1 or 9999, in filters and bodies: a 400 in the error format and nothing written,
never the OverflowError of converting them to UTC."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities.models import Activity, CheckIn
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db

FAR = [
    "0001-01-01",
    "0001-01-01T00:00:00",
    "0001-01-01T07:59:59+08:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-12:00",
    "1999-12-31T23:59:59",
    "2101-01-01T00:00:00",
]


def assert_refused(response, field: str | None = None) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    if field is not None:
        assert field in body["fields"] and "2000" in body["fields"][field][0]


@pytest.mark.parametrize("value", FAR)
@pytest.mark.parametrize("name", ["starts_after", "starts_before"])
def test_the_list_filters_refuse_far_dates(as_user, community, name, value):
    ActivityFactory(community=community)
    staff = factories.staff_of(community)
    assert_refused(as_user(staff).get("/api/v1/activities/", {name: value}), name)
    meeting = ActivityFactory(community=community, category=Activity.Category.THREE_MEETINGS_ONE_LESSON)
    response = as_user(staff).get(f"/api/v1/activities/{meeting.pk}/leave/", {name: value})
    assert_refused(response, name)


@pytest.mark.parametrize("value", ["2000-01-01T00:00:00+08:00", "2100-12-31T23:59:59-12:00"])
def test_the_ends_of_the_range_are_taken(as_user, community, value):
    response = as_user(factories.staff_of(community)).get("/api/v1/activities/", {"starts_after": value})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("value", FAR)
@pytest.mark.parametrize("field", ["starts_at", "ends_at", "enrollment_deadline"])
def test_editing_an_activity_refuses_far_dates(as_user, community, field, value):
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    before = {name: getattr(activity, name) for name in ("starts_at", "ends_at", "enrollment_deadline")}
    response = as_user(factories.staff_of(community)).patch(
        f"/api/v1/activities/{activity.pk}/", {field: value}, format="json"
    )
    assert_refused(response, field)
    activity.refresh_from_db()
    assert {name: getattr(activity, name) for name in before} == before


@pytest.mark.parametrize("value", FAR)
def test_manual_attendance_refuses_a_far_time(as_user, community, value):
    activity = ActivityFactory(
        community=community, starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(hours=1)
    )
    elder = enrol(activity, factories.UserFactory(community=community)).user
    response = as_user(factories.staff_of(community)).post(
        f"/api/v1/activities/{activity.pk}/attendance/",
        {"user": elder.pk, "kind": "in", "reason": "本人无手机", "at": value},
        format="json",
    )
    assert_refused(response, "at")
    assert not CheckIn.objects.exists()
