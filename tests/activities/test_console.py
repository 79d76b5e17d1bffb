"""The console: staff see their community's activities, create them through the services, publish
and cancel them with actions, decide leave, and download the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities.models import Activity, LeaveRequest
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db


def form(community, **extra):
    start = timezone.localtime() + timedelta(days=1)
    end = start + timedelta(hours=2)
    return {
        "community": community.pk,
        "title": "网格议事会",
        "category": "other",
        "description": "",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
        "place": "社区会议室",
        "latitude": "29.372425",
        "longitude": "113.093627",
        "radius_m": "200",
        "capacity": "",
        "enrollment_required": "on",
        "audience": "community",
        "points": "0",
        **extra,
    }


def test_staff_see_only_their_communitys_activities(client, community, other_community):
    mine = ActivityFactory(community=community, title="本社区活动")
    ActivityFactory(community=other_community, title="别的社区活动")
    client.force_login(factories.staff_of(community))
    page = client.get("/admin/activities/activity/")
    assert page.status_code == 200
    assert "本社区活动" in page.content.decode() and "别的社区活动" not in page.content.decode()
    other = Activity.objects.get(community=other_community)
    assert client.get(f"/admin/activities/activity/{other.pk}/change/").status_code == 302  # not found → index
    assert client.get(f"/admin/activities/activity/{mine.pk}/change/").status_code == 200


def test_creating_in_the_console_goes_through_the_service(client, community):
    staff = factories.staff_of(community)
    client.force_login(staff)
    response = client.post("/admin/activities/activity/add/", form(community))
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get()
    assert activity.status == "draft" and activity.organiser == staff


def test_the_console_form_shows_the_services_errors(client, community):
    client.force_login(factories.staff_of(community))
    # An hour before the start, date and time together (near midnight the date differs).
    end = timezone.localtime() + timedelta(days=1) - timedelta(hours=1)
    response = client.post(
        "/admin/activities/activity/add/",
        form(community, ends_at_0=end.strftime("%Y-%m-%d"), ends_at_1=end.strftime("%H:%M:%S")),
    )
    assert response.status_code == 200
    assert "结束时间须晚于开始时间" in response.content.decode()
    assert not Activity.objects.exists()


def test_publish_and_cancel_actions(client, community):
    client.force_login(factories.staff_of(community))
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    client.post("/admin/activities/activity/", {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "published"
    client.post("/admin/activities/activity/", {"action": "cancel", "_selected_action": [draft.pk], "reason": ""})
    draft.refresh_from_db()
    assert draft.status == "published"  # a reason is required
    client.post(
        "/admin/activities/activity/", {"action": "cancel", "_selected_action": [draft.pk], "reason": "场地维修"}
    )
    draft.refresh_from_db()
    assert draft.status == "cancelled" and draft.cancel_reason == "场地维修"


def test_leave_is_decided_in_the_console(client, community):
    activity = ActivityFactory(
        community=community, category="party_lesson", starts_at=timezone.now() + timedelta(days=1)
    )
    user = enrol(activity).user
    leave = LeaveRequest.objects.create(activity=activity, user=user, reason="出差")
    client.force_login(factories.staff_of(community))
    client.post("/admin/activities/leaverequest/", {"action": "approve", "_selected_action": [leave.pk], "reason": ""})
    leave.refresh_from_db()
    assert leave.status == "approved"


def test_the_ledger_downloads_with_the_console_session(client, community):
    activity = ActivityFactory(community=community)
    enrol(activity)
    client.force_login(factories.staff_of(community))
    response = client.get(f"/api/v1/activities/{activity.pk}/attendance/export/")
    assert response.status_code == 200 and response.content[:2] == b"PK"
