"""The attendance page: the four figures, everyone's standing, manual check-in and check-out for
people without phones through the service (reason and operator recorded), scope, bad input."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.activities.models import Activity, CheckIn, Enrollment
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db


def page(activity) -> str:
    return f"/admin/console/attendance/{activity.pk}/"


def record(activity) -> str:
    return f"/admin/console/attendance/{activity.pk}/record/"


@pytest.fixture
def activity(community):
    return ActivityFactory(community=community, title="三会一课", enrollment_required=True)


def test_the_page_shows_the_figures_and_the_people(client, community, activity):
    present = enrol(activity, factories.UserFactory(community=community, real_name="陈立")).user
    enrol(activity, factories.UserFactory(community=community, real_name="黄梅"))
    CheckIn.objects.create(
        activity=activity,
        user=present,
        kind=CheckIn.Kind.IN,
        at=activity.starts_at,
        distance_m=10,
        inside=True,
        client_id=uuid.uuid4(),
    )
    client.force_login(factories.staff_of(community))
    response = client.get(page(activity))
    html = response.content.decode()
    assert response.status_code == 200
    for label in ("应到", "实到", "请假", "缺席", "陈立", "黄梅", "补签到", "补签退", "导出台账 Excel"):
        assert label in html, label
    figures = dict(response.context["figures"])
    assert figures == {"应到": 2, "实到": 1, "请假": 0, "缺席": 0}


def test_its_queries_do_not_grow_with_people(client, community, activity):
    client.force_login(factories.staff_of(community))
    enrol(activity, factories.UserFactory(community=community))
    with CaptureQueriesContext(connection) as few:
        client.get(page(activity))
    for _ in range(5):
        enrol(activity, factories.UserFactory(community=community))
    with CaptureQueriesContext(connection) as more:
        client.get(page(activity))
    assert len(more) == len(few)


def test_a_manual_check_in_and_out_go_through_the_service(client, community, activity):
    staff = factories.staff_of(community)
    elder = enrol(activity, factories.UserFactory(community=community, real_name="王奶奶")).user
    client.force_login(staff)
    response = client.post(record(activity), {"user": elder.pk, "kind": "in", "reason": "老人无智能手机"})
    assert response.status_code == 302
    row = CheckIn.objects.get(activity=activity, user=elder, kind=CheckIn.Kind.IN)
    assert row.manual and row.recorded_by == staff and row.reason == "老人无智能手机"
    assert "已为 王奶奶" in client.get(page(activity)).content.decode()
    response = client.post(record(activity), {"user": elder.pk, "kind": "out", "reason": "代为签退"})
    assert response.status_code == 302
    assert CheckIn.objects.filter(activity=activity, user=elder, kind=CheckIn.Kind.OUT, manual=True).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "in", "reason": ""}, "reason"),
        ({"kind": "in", "reason": "   "}, "reason"),
        ({"kind": "sideways", "reason": "r"}, "kind"),
        ({"kind": "out", "reason": "r"}, "__all__"),  # not checked in yet
        ({"kind": "in", "reason": "r", "user": "STRANGER"}, "user"),
        ({"kind": "in", "reason": "r", "user": "abc"}, "user"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(client, community, other_community, activity, body, field):
    elder = enrol(activity, factories.UserFactory(community=community)).user
    stranger = factories.UserFactory(community=other_community)
    body = {"user": elder.pk, **body}
    body["user"] = {"STRANGER": stranger.pk}.get(body["user"], body["user"])
    client.force_login(factories.staff_of(community))
    response = client.post(record(activity), body)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not CheckIn.objects.exists()


def test_twice_is_refused_with_the_services_words(client, community, activity):
    elder = enrol(activity, factories.UserFactory(community=community)).user
    client.force_login(factories.staff_of(community))
    client.post(record(activity), {"user": elder.pk, "kind": "in", "reason": "无手机"})
    response = client.post(record(activity), {"user": elder.pk, "kind": "in", "reason": "无手机"})
    assert response.status_code == 400 and "此人已签到" in response.content.decode()
    assert CheckIn.objects.filter(activity=activity, user=elder).count() == 1


def test_a_draft_takes_no_records(client, community):
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    elder = enrol(draft, factories.UserFactory(community=community)).user
    client.force_login(factories.staff_of(community))
    assert "人工登记(无手机的人员)" not in client.get(page(draft)).content.decode()
    response = client.post(record(draft), {"user": elder.pk, "kind": "in", "reason": "r"})
    assert response.status_code == 400 and not CheckIn.objects.exists()


def test_another_communitys_activity_is_not_found(client, community, other_community):
    foreign = ActivityFactory(community=other_community)
    elder = enrol(foreign, factories.UserFactory(community=other_community)).user
    client.force_login(factories.staff_of(community))
    assert client.get(page(foreign)).status_code == 404
    assert client.post(record(foreign), {"user": elder.pk, "kind": "in", "reason": "r"}).status_code == 404
    assert not CheckIn.objects.exists()
    assert Enrollment.objects.count() == 1


def test_residents_cannot_open_it(client, community, activity):
    client.force_login(factories.UserFactory(community=community))
    assert client.get(page(activity)).status_code in (302, 403)


def test_staff_recording_themselves_see_the_refusal(client, community, activity):
    staff = enrol(activity, factories.staff_of(community)).user
    client.force_login(staff)
    response = client.post(record(activity), {"user": staff.pk, "kind": "in", "reason": "本人无手机"})
    assert response.status_code == 400
    assert "不能为本人人工登记出勤" in response.content.decode()
    assert not CheckIn.objects.exists()
