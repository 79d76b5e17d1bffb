"""Helpers for the reports tests, on top of the other apps' factories: rows at chosen Shanghai times."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from backend.activities.models import Activity, CheckIn, Enrollment, LeaveRequest
from backend.members.models import Demand, MemberRegistration, PointsEntry, PostAssignment, UnitRegistration
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.members.factories import MemberFactory, PostFactory, RegistrationFactory
from tests.volunteers.factories import VolunteerFactory, approved

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
_sources = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """A moment in Asia/Shanghai (which keeps no daylight saving: a fixed +08:00)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def member(organization, *, home=None, registered_with=None, approved_at=None, withdrawn_at=None, **user_kwargs):
    """A party member naming `organization`, living in `home`, registered (approved at `approved_at`)
    with `registered_with` when given; withdrawn at `withdrawn_at` when given. As the services leave
    it, the member belongs to `organization` only while the registration stands approved."""
    user = factories.UserFactory(community=home, **user_kwargs)
    in_force = registered_with is not None and withdrawn_at is None
    party_member = MemberFactory(user=user, organization=organization if in_force else None)
    party_member.named = organization
    if registered_with is not None:
        status = MemberRegistration.Status.WITHDRAWN if withdrawn_at else MemberRegistration.Status.APPROVED
        RegistrationFactory(
            member=party_member,
            community=registered_with,
            organization=organization,
            status=status,
            approved_at=approved_at,
            decided_at=approved_at,
            withdrawn_at=withdrawn_at,
        )
    return party_member


def pending_registration(party_member, community) -> MemberRegistration:
    return RegistrationFactory(
        member=party_member,
        community=community,
        organization=party_member.organization or party_member.named,
        status=MemberRegistration.Status.PENDING,
    )


def unit_registration(
    organization, community, *, status=UnitRegistration.Status.APPROVED, approved_at=None, filed_by=None
):
    filer = filed_by or factories.UserFactory()
    return UnitRegistration.objects.create(
        organization=organization,
        community=community,
        filed_by=filer,
        contact_name="联络员",
        contact_phone="13600000000",
        status=status,
        approved_at=approved_at if status == UnitRegistration.Status.APPROVED else None,
        decided_at=approved_at,
    )


def hold_post(party_member, community, *, name: str, claimed_at, left_at=None) -> PostAssignment:
    post = PostFactory(community=community, name=name)
    return PostAssignment.objects.create(post=post, member=party_member, claimed_at=claimed_at, left_at=left_at)


def activity(community, *, starts_at, hours: int = 2, **kwargs) -> Activity:
    kwargs.setdefault("status", Activity.Status.FINISHED)
    return ActivityFactory(
        community=community, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours), **kwargs
    )


def checked_in(activity_, user, *, by) -> CheckIn:
    return CheckIn.objects.create(
        activity=activity_,
        user=user,
        kind=CheckIn.Kind.IN,
        at=activity_.starts_at + dt.timedelta(minutes=5),
        manual=True,
        recorded_by=by,
        reason="现场补登",
    )


def enrolled(activity_, user) -> Enrollment:
    return Enrollment.objects.create(activity=activity_, user=user, status=Enrollment.Status.ENROLLED)


def on_leave(activity_, user, *, by) -> LeaveRequest:
    return LeaveRequest.objects.create(
        activity=activity_,
        user=user,
        reason="出差",
        status=LeaveRequest.Status.APPROVED,
        decided_by=by,
        decided_at=activity_.starts_at - dt.timedelta(days=1),
    )


def volunteer_hours(user, community, *, started_at, hours, activity_=None, **kwargs):
    volunteer = getattr(user, "volunteer", None) or VolunteerFactory(user=user, community=community)
    return approved(
        volunteer, community=community, started_at=started_at, hours=Decimal(str(hours)), activity=activity_, **kwargs
    )


def points(user, value: int, *, created_at, kind=PointsEntry.Kind.AWARD) -> PointsEntry:
    return PointsEntry.objects.create(
        user=user,
        kind=kind,
        source=f"test:{next(_sources)}",
        points=value,
        requested_points=value,
        year=timezone.localtime(created_at).year,
        created_at=created_at,
    )


def completed_demand(community, *, claimed_by, done_at, status=Demand.Status.CONFIRMED, organization=None) -> Demand:
    from tests.members.factories import DemandFactory

    return DemandFactory(
        community=community,
        status=status,
        claimed_by=claimed_by,
        claimed_organization=organization,
        claimed_at=done_at - dt.timedelta(days=2),
        done_at=done_at,
        confirmed_at=done_at + dt.timedelta(days=1) if status == Demand.Status.CONFIRMED else None,
    )
