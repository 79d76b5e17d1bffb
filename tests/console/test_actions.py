"""Every workflow action of the console keeps the API's rules: run by staff of another community (or
another street) on an object outside their scope it changes nothing; run by the object's own staff
it does what it says (so each refusal below could have failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from backend.activities.models import Activity, LeaveRequest, Minutes
from backend.appeals.models import Appeal
from backend.brands.models import BrandPlan
from backend.members.models import MemberRegistration, UnitRegistration
from backend.volunteers.models import Certificate, ServiceRecord
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory, PlanFactory
from tests.members.factories import RegistrationFactory
from tests.volunteers.factories import VolunteerFactory, approved, record, with_id

from .conftest import Places

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    changelist: str
    action: str
    build: Callable[[Places], Any]
    state: Callable[[Any], Any]
    data: Callable[[Places], dict[str, Any]] = field(default=lambda places: {})
    actor: str = "secretary"  # who may; the outsider is the same role elsewhere
    outsider: str = "neighbour_secretary"


def _status(obj) -> str:
    obj.refresh_from_db()
    return obj.status


def _pending_unit(places: Places) -> UnitRegistration:
    return UnitRegistration.objects.create(
        organization=factories.UnitOrganizationFactory(),
        community=places.home,
        filed_by=factories.UserFactory(),
        contact_name="联络员",
        contact_phone="13600000000",
    )


def _leave(places: Places) -> LeaveRequest:
    meeting = ActivityFactory(community=places.home, category=Activity.Category.THREE_MEETINGS_ONE_LESSON)
    return LeaveRequest.objects.create(activity=meeting, user=factories.UserFactory(), reason="出差")


def _record(places: Places, **kwargs) -> ServiceRecord:
    return record(with_id(VolunteerFactory(community=places.home)), **kwargs)


def _days_ago(days: int):
    return timezone.localtime() - timedelta(days=days)


def _certificate(places: Places) -> Certificate:
    from backend.volunteers import services

    volunteer = with_id(VolunteerFactory(community=places.home))
    approved(volunteer, started_at=_days_ago(3))
    today = timezone.localdate()
    certificate, _created = services.issue_certificate(
        volunteer=volunteer,
        community=places.home,
        by=places.secretary,
        period_start=today - timedelta(days=30),
        period_end=today,
    )
    return certificate


def _certificates_of(volunteer) -> int:
    return Certificate.objects.filter(volunteer=volunteer).count()


def _corrections(obj: ServiceRecord) -> tuple:
    obj.refresh_from_db()
    return obj.started_at, obj.ended_at


REASON = {"apply": "1", "reason": "材料不全, 请补充"}

CASES = {
    "registration-approve": Case(
        "admin:members_memberregistration_changelist",
        "approve",
        lambda p: RegistrationFactory(community=p.home),
        _status,
    ),
    "registration-reject": Case(
        "admin:members_memberregistration_changelist",
        "reject",
        lambda p: RegistrationFactory(community=p.home),
        _status,
        data=lambda p: REASON,
    ),
    "unit-registration-approve": Case("admin:members_unitregistration_changelist", "approve", _pending_unit, _status),
    "unit-registration-reject": Case(
        "admin:members_unitregistration_changelist", "reject", _pending_unit, _status, data=lambda p: REASON
    ),
    "activity-publish": Case(
        "admin:activities_activity_changelist",
        "publish",
        lambda p: ActivityFactory(
            community=p.home,
            status=Activity.Status.DRAFT,
            published_at=None,
            starts_at=timezone.now() + timedelta(days=2),
            ends_at=timezone.now() + timedelta(days=2, hours=2),
        ),
        _status,
    ),
    "activity-cancel": Case(
        "admin:activities_activity_changelist",
        "cancel",
        lambda p: ActivityFactory(community=p.home, starts_at=timezone.now() + timedelta(days=2)),
        _status,
        data=lambda p: {"reason": "天气原因"},
    ),
    "leave-approve": Case("admin:activities_leaverequest_changelist", "approve", _leave, _status),
    "leave-reject": Case(
        "admin:activities_leaverequest_changelist", "reject", _leave, _status, data=lambda p: {"reason": "会议重要"}
    ),
    "hours-approve": Case("admin:volunteers_servicerecord_changelist", "approve", _record, _status),
    "hours-approve-flagged": Case(
        "admin:volunteers_servicerecord_changelist",
        "approve_flagged",
        lambda p: _record(p, over_cap_flag=True),
        _status,
    ),
    "hours-reject": Case(
        "admin:volunteers_servicerecord_changelist", "reject", _record, _status, data=lambda p: REASON
    ),
    "hours-correct": Case(
        "admin:volunteers_servicerecord_changelist",
        "correct",
        _record,
        _corrections,
        data=lambda p: {
            "apply": "1",
            "started_at": (timezone.localtime() - timedelta(days=10)).strftime("%Y-%m-%d 08:00"),
            "ended_at": (timezone.localtime() - timedelta(days=10)).strftime("%Y-%m-%d 09:00"),
            "reason": "签退时间有误",
        },
    ),
    "certificate-issue": Case(
        "admin:volunteers_volunteer_changelist",
        "issue_certificate",
        lambda p: _record(p, status=ServiceRecord.Status.APPROVED, started_at=_days_ago(3)).volunteer,
        _certificates_of,
        data=lambda p: {
            "apply": "1",
            "period_start": (timezone.localdate() - timedelta(days=30)).isoformat(),
            "period_end": timezone.localdate().isoformat(),
        },
    ),
    "certificate-revoke": Case(
        "admin:volunteers_certificate_changelist",
        "revoke",
        _certificate,
        lambda c: Certificate.objects.get(pk=c.pk).revoked_at is not None,
        data=lambda p: REASON,
    ),
    "brand-publish": Case(
        "admin:brands_brand_changelist", "publish", lambda p: BrandFactory(community=p.home), _status
    ),
    "brand-retire": Case(
        "admin:brands_brand_changelist", "retire", lambda p: BrandFactory(community=p.home, active=True), _status
    ),
    "plan-submit": Case(
        "admin:brands_brandplan_changelist",
        "submit",
        lambda p: PlanFactory(brand=BrandFactory(community=p.home, active=True)),
        _status,
    ),
    "plan-approve": Case(
        "admin:brands_brandplan_changelist",
        "approve",
        lambda p: PlanFactory(brand=BrandFactory(community=p.home, active=True), submitted=True),
        _status,
        actor="street_admin",
        outsider="other_street_admin",
    ),
    "plan-return": Case(
        "admin:brands_brandplan_changelist",
        "return_plans",
        lambda p: PlanFactory(brand=BrandFactory(community=p.home, active=True), submitted=True),
        _status,
        data=lambda p: {"apply": "1", "comments": "请补充年度活动安排"},
        actor="street_admin",
        outsider="other_street_admin",
    ),
    "appeal-accept": Case(
        "admin:appeals_appeal_changelist", "accept_selected", lambda p: AppealFactory(community=p.home), _status
    ),
}


def _run_action(client, case: Case, obj, places: Places):
    data = {"action": case.action, ACTION_CHECKBOX_NAME: [str(obj.pk)], "index": "0", **case.data(places)}
    if case.action == "issue_certificate":
        # Each runs with a community of their own to issue from.
        data["community"] = getattr(places, "home" if client.actor == case.actor else "neighbour").pk
    return client.post(reverse(case.changelist), data)


@pytest.mark.parametrize("name", sorted(CASES))
def test_action_changes_nothing_outside_scope_and_works_inside(client, places, name):
    case = CASES[name]
    obj = case.build(places)
    before = case.state(obj)

    client.force_login(getattr(places, case.outsider))
    client.actor = case.outsider
    response = _run_action(client, case, obj, places)
    assert response.status_code in (200, 302)
    assert case.state(obj) == before, f"{name}: an outsider changed an object outside their scope"

    client.force_login(getattr(places, case.actor))
    client.actor = case.actor
    response = _run_action(client, case, obj, places)
    assert response.status_code in (200, 302)
    assert case.state(obj) != before, f"{name}: the object's own staff could not run it"


@pytest.mark.parametrize("step", ["accepted", "replied", "resolved", "rejected"])
def test_appeal_workflow_buttons_refuse_another_communitys_appeal(client, places, step):
    appeal = AppealFactory(community=places.home)
    if step in ("replied", "resolved"):
        appeal.status = Appeal.Status.ACCEPTED if step == "replied" else Appeal.Status.REPLIED
        appeal.accepted_at = timezone.now()
        appeal.save(update_fields=["status", "accepted_at"])
    before = _status(appeal)
    url = reverse("admin:appeals_appeal_workflow", args=[appeal.pk])
    data = {"step": step, "content": "已安排物业清理"}

    client.force_login(places.neighbour_secretary)
    response = client.post(url, data)
    assert response.status_code in (302, 404)
    assert _status(appeal) == before

    client.force_login(places.secretary)
    response = client.post(url, data)
    assert response.status_code == 302
    assert _status(appeal) != before


def test_reject_asks_for_the_reason_first_and_a_blank_one_changes_nothing(client, places):
    registration = RegistrationFactory(community=places.home)
    client.force_login(places.secretary)
    url = reverse("admin:members_memberregistration_changelist")
    data = {"action": "reject", ACTION_CHECKBOX_NAME: [str(registration.pk)], "index": "0"}

    page = client.post(url, data)
    assert page.status_code == 200
    assert "驳回原因" in page.content.decode()
    assert _status(registration) == MemberRegistration.Status.PENDING

    blank = client.post(url, {**data, "apply": "1", "reason": " "})
    assert blank.status_code == 200
    assert _status(registration) == MemberRegistration.Status.PENDING

    client.post(url, {**data, "apply": "1", "reason": "所在党组织填写有误"})
    registration.refresh_from_db()
    assert (registration.status, registration.reason) == (MemberRegistration.Status.REJECTED, "所在党组织填写有误")


def test_minutes_cannot_be_recorded_for_another_communitys_meeting(client, places):
    meeting = ActivityFactory(community=places.home, category=Activity.Category.THREE_MEETINGS_ONE_LESSON)
    data = {"activity": meeting.pk, "topics": "学习党章", "decisions": "", "content": ""}
    url = reverse("admin:activities_minutes_add")

    client.force_login(places.neighbour_secretary)
    response = client.post(url, data)
    assert response.status_code == 200  # the form again: that meeting is not among the choices
    assert not Minutes.objects.filter(activity=meeting).exists()

    client.force_login(places.secretary)
    response = client.post(url, data)
    assert response.status_code == 302
    assert Minutes.objects.filter(activity=meeting, topics="学习党章").exists()


def test_a_plan_is_reviewed_by_the_street_not_by_a_community_secretary(client, places):
    plan = PlanFactory(brand=BrandFactory(community=places.home, active=True), submitted=True)
    client.force_login(places.secretary)
    client.post(
        reverse("admin:brands_brandplan_changelist"),
        {"action": "approve", ACTION_CHECKBOX_NAME: [str(plan.pk)], "index": "0"},
    )
    assert _status(plan) == BrandPlan.Status.SUBMITTED
