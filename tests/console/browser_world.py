"""The data the browser tests walk through, written into the live server's own database.

Run inside `manage.py shell` against that database (the daphne process cannot see pytest-django's
test database); prints one JSON line with the ids and credentials the tests need.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.accounts.models import Role
from backend.activities.models import Activity, LeaveRequest
from tests import factories
from tests.activities.factories import VENUE, ActivityFactory
from tests.members.factories import RegistrationFactory

PASSWORD = "pass-Word-123"  # the factories' password


def _history(street, home, neighbour, secretary) -> None:
    """A few months of work for the dashboard to draw."""
    from backend.appeals.models import Appeal
    from tests.appeals.factories import AppealFactory
    from tests.brands.factories import BrandFactory, PlanFactory, deadline_for
    from tests.members.factories import registered_member
    from tests.volunteers.factories import VolunteerFactory, approved, days_ago, with_id

    now = timezone.now()
    factories.EstateFactory(community=home, name="东湖雅苑", households=320)
    factories.EstateFactory(community=home, name="天润小区", households=80, has_property_service=False)
    for index, name in enumerate(["陈立", "黄梅", "孙波"]):
        registered_member(home if index < 2 else neighbour, real_name=name)
    for days, title in ((70, "学习党的二十大精神"), (40, "社区环境整治"), (12, "重阳敬老")):
        ActivityFactory(
            community=home,
            organiser=secretary,
            title=title,
            starts_at=now - timedelta(days=days),
            ends_at=now - timedelta(days=days) + timedelta(hours=2),
            status=Activity.Status.FINISHED,
        )
    volunteers = [with_id(VolunteerFactory(community=home, real_name=name)) for name in ("刘芳", "何勇", "马丽")]
    for index, volunteer in enumerate(volunteers):
        for days in (75, 45, 15)[: index + 1]:
            approved(volunteer, started_at=days_ago(days), hours=2 + index)
    AppealFactory(community=home, category=Appeal.Category.FACILITIES)
    late = now - timedelta(days=20)
    AppealFactory(
        community=home,
        submitted_at=late,
        respond_due_at=late + timedelta(hours=24),
        resolve_due_at=late + timedelta(days=7),
    )
    brand = BrandFactory(community=home, name="东湖红心", active=True)
    PlanFactory(brand=brand, submitted=True)
    deadline_for(street, [home, neighbour], timezone.localdate() + timedelta(days=30), title="年度品牌方案")


def _decisions(home) -> dict:
    """What waits for one click: two leave requests for a branch meeting, a wish WeChat could not
    decide alone, and a volunteer who registered on paper without an ID number."""
    from backend.core.models import ContentCheck
    from tests.members.factories import DemandFactory
    from tests.volunteers.factories import VolunteerFactory

    now = timezone.now()
    meeting = ActivityFactory(
        community=home,
        title="三月支部党员大会",
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=2),
    )
    leaves = [
        LeaveRequest.objects.create(
            activity=meeting, user=factories.UserFactory(community=home, real_name=name), reason=reason
        )
        for name, reason in (("钱请假", "出差在外"), ("孙请假", "家中有事"))
    ]
    demand = DemandFactory(community=home, title="想要一台收音机", description="联系我 微信 abc123")
    check = ContentCheck.objects.create(
        target="members.demand",
        object_id=demand.pk,
        field="text",
        source_fields=["title", "description"],
        kind=ContentCheck.Kind.TEXT,
        author=demand.requester,
        community_id=home.pk,
        status=ContentCheck.Status.REVIEW,
        reason="wechat",
        suggest="review",
        label=21000,
    )
    volunteer = VolunteerFactory(community=home, real_name="周志愿")
    return {
        "leave_ids": [leave.pk for leave in leaves],
        "check_id": check.pk,
        "volunteer_id": volunteer.pk,
    }


def build() -> dict:
    street = factories.StreetFactory(name="岳阳楼街道", city="岳阳市岳阳楼区")
    home = factories.CommunityFactory(street=street, name="东湖社区")
    neighbour = factories.CommunityFactory(street=street, name="九华山社区")
    factories.GridFactory(community=home, name="第一网格")
    factories.UnitOrganizationFactory(name="岳阳市自来水公司党支部")
    secretary = factories.staff_of(home, Role.COMMUNITY_SECRETARY)
    secretary.real_name = "李书记"
    secretary.save(update_fields=["real_name"])
    registration = RegistrationFactory(community=home, member__real_name="王建国", real_name="王建国")
    to_reject = RegistrationFactory(community=home, member__real_name="刘待定", real_name="刘待定")
    street_admin = factories.admin_of(street)
    neighbour_approve = RegistrationFactory(community=neighbour, member__real_name="邻社区党员", real_name="邻社区党员")
    now = timezone.now()
    activity = ActivityFactory(
        community=home,
        organiser=secretary,
        title="七一主题党日",
        status=Activity.Status.DRAFT,
        published_at=None,
        starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        audience=Activity.Audience.PUBLIC,
        enrollment_required=False,
    )
    member = factories.UserFactory(community=home, real_name="赵志愿")
    _history(street, home, neighbour, secretary)
    neighbour_registration = RegistrationFactory(
        community=neighbour, member__real_name="邻社区待驳回", real_name="邻社区待驳回"
    )
    decisions = _decisions(home)
    world = {
        "secretary_phone": secretary.phone,
        "password": PASSWORD,
        "registration_id": registration.pk,
        "reject_id": to_reject.pk,
        "street_admin_phone": street_admin.phone,
        "neighbour_approve_id": neighbour_approve.pk,
        "neighbour_reject_id": neighbour_registration.pk,
        **decisions,
        "activity_id": activity.pk,
        "venue": list(VENUE),
        "member_token": str(AccessToken.for_user(member)),
        "secretary_token": str(AccessToken.for_user(secretary)),
    }
    print(json.dumps(world, ensure_ascii=False))
    return world
