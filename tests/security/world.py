"""Two streets, one community in each, every kind of object in both, and a user for every role.

Side "A" (community A in street 1) is the one the roles below act on; side "B" (community B in
street 2) is the other community and the other street. Each side has the same objects, so a
detail route always has a real id of its own side's object to ask for, and the other side's
staff can be shown to get 404 for it.

A new model behind a new endpoint needs a line in `_build_side` (the authorization matrix and the
peer check fail with a message naming the model until it has one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.communities.models import Community, Street
from backend.communities.services import create_place
from tests import factories

ROLES = (
    "anonymous",
    "resident",
    "member",
    "volunteer",
    "grid_worker",
    "staff",
    "staff_other",
    "street_admin",
    "street_admin_other",
    "unit_liaison",
)


def installed(app: str) -> bool:
    return apps.is_installed(f"backend.{app}")


@dataclass
class Side:
    street: Street
    community: Community
    users: dict[str, User] = field(default_factory=dict)
    objects: dict[type[models.Model], models.Model] = field(default_factory=dict)

    def add(self, *instances: models.Model) -> None:
        for instance in instances:
            self.objects.setdefault(type(instance), instance)

    def object_for(self, model: type[models.Model]) -> models.Model | None:
        if model in self.objects:
            return self.objects[model]
        # A proxy or subclass of a model we built.
        for built, instance in self.objects.items():
            if issubclass(built, model) or issubclass(model, built):
                return instance
        return None


@dataclass
class World:
    a: Side
    b: Side

    def user(self, role: str) -> User | None:
        """The user acting in `role` towards side A's objects (None: anonymous)."""
        if role == "anonymous":
            return None
        if role == "staff_other":
            return self.b.users["staff"]
        if role == "street_admin_other":
            return self.b.users["street_admin"]
        return self.a.users.get(role)

    def roles(self) -> tuple[str, ...]:
        return tuple(r for r in ROLES if r == "anonymous" or self.user(r) is not None)


def build_world() -> World:
    return World(a=_build_side("A"), b=_build_side("B"))


def _build_side(label: str) -> Side:
    from tests.appeals.factories import AppealFactory
    from tests.brands.factories import BrandFactory, HonorFactory, PlanFactory, deadline_for
    from tests.members.factories import (
        DemandFactory,
        MemberFactory,
        PostFactory,
        RegistrationFactory,
        registered_member,
        registered_unit,
    )
    from tests.red_property import factories as rp

    street = factories.StreetFactory(name=f"{label}街道")
    community = factories.CommunityFactory(street=street, name=f"{label}社区")
    side = Side(street=street, community=community)
    grid = factories.GridFactory(community=community)
    estate = factories.EstateFactory(community=community, grid=grid)
    branch = factories.OrganizationFactory(community=community)
    place = create_place(community=community, name=f"{label}社区党群服务中心", latitude=29.37, longitude=113.09)
    side.add(street, community, grid, estate, branch, place)

    users = side.users
    users["staff"] = factories.staff_of(community)
    users["street_admin"] = factories.admin_of(street)
    users["resident"] = factories.UserFactory(community=community)
    users["grid_worker"] = factories.UserFactory(community=community)
    worker_grant = factories.grant(users["grid_worker"], Role.GRID_WORKER, grid)
    side.add(worker_grant)

    member = registered_member(community, grid=grid)
    users["member"] = member.user
    unit = registered_unit(community)
    users["unit_liaison"] = unit.filed_by
    member_of_unit = registered_member(community, organization=unit.organization)
    side.add(member, member_of_unit.user)
    # Pending filings, so the approve/reject routes have something to act on.
    pending = RegistrationFactory(member=MemberFactory(), community=community)
    pending_unit = _pending_unit(community)
    side.add(pending, pending_unit, unit)

    from backend.members import services as members_services
    from backend.members.models import PointsEntry, Resource

    post = PostFactory(community=community)
    demand = DemandFactory(community=community, requester=users["resident"])
    resource = Resource.objects.create(
        community=community, title=f"{label}会议室", description="可借用", offered_by=users["staff"]
    )
    project = members_services.create_project(
        by=users["staff"], community=community, name=f"{label}项目", owner=users["staff"]
    )
    points = PointsEntry.objects.create(
        user=member.user, source=f"test:{label}", points=5, requested_points=5, year=timezone.localdate().year
    )
    side.add(post, demand, resource, project, points)

    from backend.core.events import Audience
    from backend.notices.services import create_notice

    notice = create_notice(
        sender=users["staff"], title=f"{label}通知", body="正文", audience=Audience.community(community)
    )
    side.add(notice)

    deadline = deadline_for(street, [community], timezone.localdate() + dt.timedelta(days=30))
    brand = BrandFactory(community=community, active=True)
    plan = PlanFactory(brand=brand)
    honor = HonorFactory(organization=branch, street=street)
    side.add(deadline, brand, plan, honor)

    company = rp.PropertyCompanyFactory(street=street)
    rp.GovernanceFactory(estate=estate, property_company=company)
    bare_estate = factories.EstateFactory(community=community, grid=grid, has_property_service=False)
    group = rp.SelfGovernanceGroupFactory(estate=bare_estate)
    meeting = rp.JointMeetingFactory(estate=estate)
    side.add(
        company,
        rp.OwnersCommitteeFactory(estate=estate),
        rp.ResidentsCommitteeFactory(community=community),
        meeting,
        rp.FollowUpFactory(meeting=meeting),
        rp.AssessmentStandardFactory(street=street),
        rp.AssessmentItemFactory(street=street),
        rp.EstateAssessmentFactory(estate=estate),
        group,
        rp.SelfGovernanceMeetingFactory(group=group),
    )

    appeal = AppealFactory(community=community, resident=users["resident"], grid=grid, estate=estate)
    side.add(appeal)

    if installed("activities"):
        _activities(side, grid)
    if installed("volunteers"):
        _volunteers(side)
    return side


def _pending_unit(community: Community) -> Any:
    from backend.members.models import UnitRegistration

    organization = factories.UnitOrganizationFactory()
    filer = factories.UserFactory()
    return UnitRegistration.objects.create(
        organization=organization,
        community=community,
        filed_by=filer,
        contact_name="联系人",
        contact_phone="13600000001",
    )


def _activities(side: Side, grid) -> None:
    from backend.activities import services as activity_services
    from backend.activities.models import Activity, LeaveRequest
    from tests.activities.factories import ActivityFactory, enrol

    users = side.users
    # A party lesson: a meeting, so its minutes route has minutes to show.
    activity = ActivityFactory(
        community=side.community, organiser=users["staff"], category=Activity.Category.PARTY_LESSON
    )
    activity_services.record_minutes(activity=activity, by=users["staff"], topics="学习党章")
    enrol(activity, users["member"])
    leave = LeaveRequest.objects.create(activity=activity, user=users["resident"], reason="出差")
    side.add(activity, leave)


def _volunteers(side: Side) -> None:
    from backend.volunteers import services as volunteer_services
    from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record, with_id

    user = factories.UserFactory(community=side.community)
    volunteer = with_id(VolunteerFactory(user=user, community=side.community))
    side.users["volunteer"] = user
    approved(volunteer, started_at=days_ago(20), approved_by=side.users["staff"])
    pending = record(volunteer, started_at=days_ago(5))
    certificate, _ = volunteer_services.issue_certificate(
        volunteer=volunteer,
        community=side.community,
        by=side.users["staff"],
        period_start=timezone.localdate() - dt.timedelta(days=60),
        period_end=timezone.localdate() - dt.timedelta(days=1),
        service_summary="社区服务",
    )
    side.add(volunteer, pending, certificate)
