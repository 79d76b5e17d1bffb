"""Decisions where she reads: each row's page has its buttons (unfold's actions_detail), each button
asks only what it needs on a styled page, runs the API's service, and writes the step to the row's
history. Outside scope the page is a 404 and nothing changes; a refusal is shown and nothing is
written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from backend.accounts.models import Role
from backend.activities.models import Activity, LeaveRequest
from backend.brands.models import BrandPlan
from backend.core.models import ContentCheck
from backend.members.models import MemberRegistration, UnitRegistration
from backend.volunteers.models import Certificate, ServiceRecord
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.brands.factories import BrandFactory, PlanFactory
from tests.members.factories import DemandFactory, RegistrationFactory

from .test_actions import _days_ago, _leave, _pending_unit, _record, _status

pytestmark = pytest.mark.django_db


@dataclass
class Decision:
    url_name: str  # the detail action's URL
    change: str  # the row's page, where the button shows
    build: Callable[[Any], Any]
    state: Callable[[Any], Any]
    after: Any  # the state the decision leads to
    data: Callable[[Any], dict[str, Any]] = field(default=lambda places: {})
    button: str = ""
    actor: str = "secretary"
    outsider: str = "neighbour_secretary"


def _draft_activity(places):
    return ActivityFactory(
        community=places.home,
        status=Activity.Status.DRAFT,
        published_at=None,
        starts_at=timezone.now() + timezone.timedelta(days=2),
        ends_at=timezone.now() + timezone.timedelta(days=2, hours=2),
    )


def _submitted_plan(places):
    return PlanFactory(brand=BrandFactory(community=places.home, active=True), submitted=True)


def _held_content(places) -> ContentCheck:
    """A wish WeChat could not decide alone: it waits for staff, hidden from others meanwhile."""
    demand = DemandFactory(community=places.home)
    return ContentCheck.objects.create(
        target="members.demand",
        object_id=demand.pk,
        field="text",
        source_fields=["title", "description"],
        kind=ContentCheck.Kind.TEXT,
        author=demand.requester,
        community_id=places.home.pk,
        status=ContentCheck.Status.REVIEW,
        reason="wechat",
        suggest="review",
        label=21000,
    )


def _certificates(volunteer) -> int:
    return Certificate.objects.filter(volunteer=volunteer).count()


REASON = {"reason": "材料不全, 请补充"}

DECISIONS = {
    "registration-approve": Decision(
        "admin:members_memberregistration_approve_one",
        "admin:members_memberregistration_change",
        lambda p: RegistrationFactory(community=p.home),
        _status,
        MemberRegistration.Status.APPROVED,
        button="通过",
    ),
    "registration-reject": Decision(
        "admin:members_memberregistration_reject_one",
        "admin:members_memberregistration_change",
        lambda p: RegistrationFactory(community=p.home),
        _status,
        MemberRegistration.Status.REJECTED,
        data=lambda p: REASON,
        button="驳回",
    ),
    "unit-approve": Decision(
        "admin:members_unitregistration_approve_one",
        "admin:members_unitregistration_change",
        _pending_unit,
        _status,
        UnitRegistration.Status.APPROVED,
        button="通过",
    ),
    "unit-reject": Decision(
        "admin:members_unitregistration_reject_one",
        "admin:members_unitregistration_change",
        _pending_unit,
        _status,
        UnitRegistration.Status.REJECTED,
        data=lambda p: REASON,
        button="驳回",
    ),
    "activity-publish": Decision(
        "admin:activities_activity_publish_one",
        "admin:activities_activity_change",
        _draft_activity,
        _status,
        Activity.Status.PUBLISHED,
        button="发布",
    ),
    "record-approve": Decision(
        "admin:volunteers_servicerecord_approve_one",
        "admin:volunteers_servicerecord_change",
        _record,
        _status,
        ServiceRecord.Status.APPROVED,
        button="审核通过",
    ),
    "record-reject": Decision(
        "admin:volunteers_servicerecord_reject_one",
        "admin:volunteers_servicerecord_change",
        _record,
        _status,
        ServiceRecord.Status.REJECTED,
        data=lambda p: REASON,
        button="驳回",
    ),
    "certificate-issue": Decision(
        "admin:volunteers_volunteer_issue_one",
        "admin:volunteers_volunteer_change",
        lambda p: _record(p, status=ServiceRecord.Status.APPROVED, started_at=_days_ago(3)).volunteer,
        _certificates,
        1,
        data=lambda p: {
            "community": p.home.pk,
            "period_start": (timezone.localdate() - timezone.timedelta(days=30)).isoformat(),
            "period_end": timezone.localdate().isoformat(),
        },
        button="出具志愿服务证明",
    ),
    "leave-approve": Decision(
        "admin:activities_leaverequest_approve_one",
        "admin:activities_leaverequest_change",
        _leave,
        _status,
        LeaveRequest.Status.APPROVED,
        button="批准",
    ),
    "leave-reject": Decision(
        "admin:activities_leaverequest_reject_one",
        "admin:activities_leaverequest_change",
        _leave,
        _status,
        LeaveRequest.Status.REJECTED,
        data=lambda p: REASON,
        button="不批准",
    ),
    "content-pass": Decision(
        "admin:core_contentcheck_pass_one",
        "admin:core_contentcheck_change",
        _held_content,
        _status,
        ContentCheck.Status.PASSED,
        button="通过",
    ),
    "content-hold": Decision(
        "admin:core_contentcheck_hold_one",
        "admin:core_contentcheck_change",
        _held_content,
        _status,
        ContentCheck.Status.REJECTED,
        data=lambda p: {"reason": "含联系方式, 请删除后重新发布"},
        button="不予展示",
    ),
    "plan-approve": Decision(
        "admin:brands_brandplan_approve_one",
        "admin:brands_brandplan_change",
        _submitted_plan,
        _status,
        BrandPlan.Status.APPROVED,
        button="审核通过",
        actor="street_admin",
        outsider="other_street_admin",
    ),
    "plan-return": Decision(
        "admin:brands_brandplan_return_one",
        "admin:brands_brandplan_change",
        _submitted_plan,
        _status,
        BrandPlan.Status.RETURNED,
        data=lambda p: {"comments": "请补充年度活动安排"},
        button="退回修改",
        actor="street_admin",
        outsider="other_street_admin",
    ),
}


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_a_decision_from_the_rows_page(client, places, name):
    case = DECISIONS[name]
    obj = case.build(places)
    before = case.state(obj)
    url = reverse(case.url_name, args=[obj.pk])

    client.force_login(getattr(places, case.outsider))
    assert client.get(url).status_code == 404
    assert client.post(url, case.data(places)).status_code == 404
    assert case.state(obj) == before

    client.force_login(getattr(places, case.actor))
    page = client.get(reverse(case.change, args=[obj.pk])).content.decode()
    assert f'href="{url}"' in page, "the button is on the row's page"
    assert case.button in page
    ask = client.get(url)
    assert ask.status_code == 200
    assert case.state(obj) == before, "opening the step decides nothing"
    # The page asks with unfold's own widgets, never a bare input.
    assert "border-base-200" in ask.content.decode()

    done = client.post(url, case.data(places))
    assert done.status_code == 302
    assert done["Location"] == reverse(case.change, args=[obj.pk])
    assert case.state(obj) == case.after
    assert LogEntry.objects.filter(object_id=str(obj.pk), user=getattr(places, case.actor)).exists()


@pytest.mark.parametrize(
    "name", ["registration-reject", "record-reject", "plan-return", "leave-reject", "content-hold"]
)
def test_a_reason_is_asked_for_and_a_blank_one_writes_nothing(client, places, name):
    case = DECISIONS[name]
    obj = case.build(places)
    before = case.state(obj)
    client.force_login(getattr(places, case.actor))
    blank = dict.fromkeys(case.data(places), " ")
    response = client.post(reverse(case.url_name, args=[obj.pk]), blank)
    assert response.status_code == 200
    assert case.state(obj) == before
    assert not LogEntry.objects.filter(object_id=str(obj.pk)).exists()


def test_a_refusal_of_the_service_is_shown_and_nothing_is_written(client, places):
    registration = RegistrationFactory(community=places.home)
    client.force_login(places.secretary)
    url = reverse("admin:members_memberregistration_approve_one", args=[registration.pk])
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again.status_code == 200
    assert 'class="console-errors"' in again.content.decode()
    assert LogEntry.objects.filter(object_id=str(registration.pk)).count() == 1


def test_buttons_show_only_while_the_decision_is_open(client, places):
    registration = RegistrationFactory(community=places.home)
    client.force_login(places.secretary)
    change = reverse("admin:members_memberregistration_change", args=[registration.pk])
    approve = reverse("admin:members_memberregistration_approve_one", args=[registration.pk])
    assert approve in client.get(change).content.decode()
    client.post(approve)
    assert approve not in client.get(change).content.decode()


def test_a_community_secretary_has_no_review_buttons_on_a_plan(client, places):
    plan = _submitted_plan(places)
    client.force_login(places.secretary)
    url = reverse("admin:brands_brandplan_approve_one", args=[plan.pk])
    assert url not in client.get(reverse("admin:brands_brandplan_change", args=[plan.pk])).content.decode()
    assert client.post(url).status_code == 403
    assert _status(plan) == BrandPlan.Status.SUBMITTED


def test_the_registration_page_shows_what_the_decision_needs(client, places):
    registration = RegistrationFactory(community=places.home)
    member = registration.member
    client.force_login(places.secretary)
    page = client.get(reverse("admin:members_memberregistration_change", args=[registration.pk])).content.decode()
    assert member.phone in page
    assert member.get_status_display() in page
    for label in ("联系电话", "党员类别", "入党日期", "工作单位"):
        assert label in page


def test_rows_of_the_list_carry_the_decisions(client, places):
    registration = RegistrationFactory(community=places.home)
    client.force_login(places.secretary)
    page = client.get(reverse("admin:members_memberregistration_changelist")).content.decode()
    assert reverse("admin:members_memberregistration_reject_one", args=[registration.pk]) in page


# Leave and content review: one button per decision, each through the API's service.

NEW_DECISIONS = ["leave-approve", "leave-reject", "content-pass", "content-hold"]


def _grid_worker(places):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=places.home))
    return worker


@pytest.mark.parametrize("name", NEW_DECISIONS)
def test_a_role_that_does_not_decide_is_refused_and_nothing_changes(client, places, name):
    case = DECISIONS[name]
    obj = case.build(places)
    before = case.state(obj)
    client.force_login(_grid_worker(places))
    url = reverse(case.url_name, args=[obj.pk])
    assert client.post(url, case.data(places)).status_code in (403, 404)
    assert case.state(obj) == before
    assert not LogEntry.objects.filter(object_id=str(obj.pk)).exists()


@pytest.mark.parametrize("name", NEW_DECISIONS)
def test_the_street_admin_decides_for_the_streets_communities(client, places, name):
    case = DECISIONS[name]
    obj = case.build(places)
    client.force_login(places.street_admin)
    assert client.post(reverse(case.url_name, args=[obj.pk]), case.data(places)).status_code == 302
    assert case.state(obj) == case.after


@pytest.mark.parametrize("name", NEW_DECISIONS)
def test_the_list_rows_carry_the_new_decisions(client, places, name):
    case = DECISIONS[name]
    obj = case.build(places)
    client.force_login(places.secretary)
    changelist = case.change.replace("_change", "_changelist")
    assert reverse(case.url_name, args=[obj.pk]) in client.get(reverse(changelist)).content.decode()


def test_a_held_note_reaches_the_check_and_a_decided_one_has_no_buttons(client, places):
    check = _held_content(places)
    client.force_login(places.secretary)
    hold = reverse("admin:core_contentcheck_hold_one", args=[check.pk])
    assert client.post(hold, {"reason": "含联系方式"}).status_code == 302
    check.refresh_from_db()
    assert (check.decided_by, check.decision_note) == (places.secretary, "含联系方式")
    page = client.get(reverse("admin:core_contentcheck_change", args=[check.pk])).content.decode()
    assert hold not in page
    assert reverse("admin:core_contentcheck_pass_one", args=[check.pk]) not in page
    again = client.post(reverse("admin:core_contentcheck_pass_one", args=[check.pk]))
    assert again.status_code == 200 and 'class="console-errors"' in again.content.decode()
    assert _status(check) == ContentCheck.Status.REJECTED


def test_no_one_decides_on_their_own_content(client, places):
    check = _held_content(places)
    author = check.author
    factories.grant(author, Role.COMMUNITY_STAFF, places.home)
    client.force_login(author)
    response = client.post(reverse("admin:core_contentcheck_pass_one", args=[check.pk]))
    assert response.status_code == 200 and "不能复核自己发布的内容" in response.content.decode()
    assert _status(check) == ContentCheck.Status.REVIEW
    assert not LogEntry.objects.filter(object_id=str(check.pk)).exists()


def test_a_leave_decision_tells_the_member(client, places):
    leave = _leave(places)
    client.force_login(places.secretary)
    client.post(reverse("admin:activities_leaverequest_reject_one", args=[leave.pk]), {"reason": "支部大会须参加"})
    leave.refresh_from_db()
    assert (leave.status, leave.decided_by, leave.decision_note) == (
        LeaveRequest.Status.REJECTED,
        places.secretary,
        "支部大会须参加",
    )
