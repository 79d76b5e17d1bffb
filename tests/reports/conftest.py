"""One town for every figure: a street with communities A, B and C (C empty), another street with D,
estates of every kind, in-service members of two units across the quarters of 2025, activities,
service hours, points, demands, brands with plans and honours, and appeals.

Every expected number in the tests is counted by hand from what is built here; the comments say
what each row is for.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from backend.accounts.models import Role
from backend.activities.models import Activity
from backend.appeals.models import Appeal
from backend.brands.models import BrandPlan, Honor
from backend.members.models import Demand, PointsEntry, UnitRegistration
from tests import factories
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory, HonorFactory, PlanFactory, deadline_for
from tests.red_property.factories import GovernanceFactory, OwnersCommitteeFactory, PropertyCompanyFactory

from .factories import (
    activity,
    at,
    checked_in,
    completed_demand,
    enrolled,
    hold_post,
    member,
    on_leave,
    pending_registration,
    points,
    unit_registration,
    volunteer_hours,
)

ON = dt.date(2026, 1, 15)  # the day committees in office are counted on


@pytest.fixture
def town(db, settings):
    settings.OWNERS_COMMITTEE_HOUSEHOLDS = 100
    settings.FEEDBACK_REPORT_YEARLY_HOURS = 50
    settings.FEEDBACK_REPORT_YEARLY_SERVICES = 12
    t = SimpleNamespace()
    t.street = factories.StreetFactory(name="岳阳楼街道")
    t.a = factories.CommunityFactory(street=t.street, name="A社区")
    t.b = factories.CommunityFactory(street=t.street, name="B社区")
    t.c = factories.CommunityFactory(street=t.street, name="C社区")
    t.other_street = factories.StreetFactory(name="其他街道")
    t.d = factories.CommunityFactory(street=t.other_street, name="D社区")
    t.staff_a = factories.staff_of(t.a)
    t.staff_b = factories.staff_of(t.b)
    t.staff_c = factories.staff_of(t.c)
    t.staff_d = factories.staff_of(t.d)
    t.admin = factories.admin_of(t.street)
    t.other_admin = factories.admin_of(t.other_street)
    t.resident = factories.UserFactory(community=t.a)
    _estates(t)
    _members(t)
    _activities(t)
    _service(t)
    _brands(t)
    _appeals(t)
    return t


def _estates(t):
    """A: five estates of every kind; B: one without service; C: none."""
    p1 = PropertyCompanyFactory(street=t.street, party_organization=factories.OrganizationFactory(community=t.a))
    p2 = PropertyCompanyFactory(street=t.street)
    t.a1 = factories.EstateFactory(community=t.a, households=400)  # served by P1, organisation, red, committee
    t.a2 = factories.EstateFactory(community=t.a, households=300)  # served by P2, committee expired
    t.a3 = factories.EstateFactory(community=t.a, households=80, has_property_service=False)  # small, no service
    t.a4 = factories.EstateFactory(community=t.a, households=90)  # served by P1, must form a committee (override)
    t.a5 = factories.EstateFactory(community=t.a, households=150, has_property_service=False)  # red, service gone
    t.b1 = factories.EstateFactory(community=t.b, households=500, has_property_service=False)
    GovernanceFactory(
        estate=t.a1,
        property_company=p1,
        party_organization=factories.OrganizationFactory(community=t.a),
        is_red_property=True,
        red_property_since=dt.date(2024, 7, 1),
    )
    GovernanceFactory(estate=t.a2, property_company=p2)
    GovernanceFactory(estate=t.a4, property_company=p1, owners_committee_required_override=True)
    GovernanceFactory(estate=t.a5, is_red_property=True, red_property_since=dt.date(2023, 7, 1))
    GovernanceFactory(estate=t.b1, party_organization=factories.OrganizationFactory(community=t.b))
    OwnersCommitteeFactory(estate=t.a1, term_start=dt.date(2024, 1, 1), term_end=dt.date(2099, 12, 31))
    OwnersCommitteeFactory(estate=t.a2, term_start=dt.date(2020, 1, 1), term_end=dt.date(2024, 12, 31))
    OwnersCommitteeFactory(estate=t.a3, term_start=dt.date(2024, 1, 1), term_end=dt.date(2099, 12, 31))
    OwnersCommitteeFactory(estate=t.b1, term_start=dt.date(2025, 1, 1), term_end=dt.date(2099, 12, 31))


def _members(t):
    """Unit U1 (five members), U2 (one), U3 (a refused filing only), and a community branch member."""
    t.u1 = factories.UnitOrganizationFactory(name="市财政局机关党支部", employer="市财政局")
    t.u2 = factories.UnitOrganizationFactory(name="市一中党支部", employer="市一中")
    t.u3 = factories.UnitOrganizationFactory(name="某公司党支部", employer="某公司")
    t.liaison = factories.UserFactory()
    factories.grant(t.liaison, Role.UNIT_LIAISON, t.u1)
    t.liaison_u2 = factories.UserFactory()  # granted later where a test needs it
    t.superuser = factories.UserFactory(is_superuser=True, is_staff=True)  # reads every report whole
    t.branch_a = factories.OrganizationFactory(community=t.a, name="A社区第一党支部")

    t.m1 = member(t.u1, home=t.a, registered_with=t.a, approved_at=at(2025, 1, 10), real_name="张一")
    t.m2 = member(t.u1, home=t.a, registered_with=t.b, approved_at=at(2025, 2, 1), real_name="李二")  # lives A
    t.m3 = member(t.u1, home=t.a, real_name="王三")
    pending_registration(t.m3, t.a)
    t.m4 = member(t.u1, home=t.b, registered_with=t.b, approved_at=at(2025, 5, 20), real_name="赵四")  # in Q2
    t.m5 = member(
        t.u2, home=t.a, registered_with=t.a, approved_at=at(2024, 12, 1), withdrawn_at=at(2025, 8, 1), real_name="钱五"
    )
    t.m6 = member(t.branch_a, home=t.a, real_name="孙六")  # a community branch member: not in service
    t.m7 = member(t.u1, registered_with=t.a, approved_at=at(2025, 3, 1), real_name="周七")  # no home chosen

    # The liaison filed U1's tie with A: that tie is what they reach (A's lines of the report).
    unit_registration(t.u1, t.a, approved_at=at(2025, 1, 5), filed_by=t.liaison)
    unit_registration(t.u2, t.a, status=UnitRegistration.Status.PENDING)
    unit_registration(t.u2, t.b, approved_at=at(2025, 6, 1))
    unit_registration(t.u3, t.b, status=UnitRegistration.Status.REJECTED)

    hold_post(t.m1, t.a, name="楼栋长", claimed_at=at(2025, 1, 15))
    hold_post(t.m2, t.b, name="文明劝导", claimed_at=at(2024, 6, 1), left_at=at(2024, 12, 31))  # before Q1
    hold_post(t.m7, t.a, name="政策宣讲", claimed_at=at(2025, 4, 10))  # after Q1


def _activities(t):
    staff = t.staff_a
    t.brand_a = BrandFactory(community=t.a, active=True, name="岳阳楼下党旗红")
    t.act1 = activity(t.a, starts_at=at(2025, 2, 10), brand=t.brand_a, organiser=staff)  # party day
    for m in (t.m1, t.m7, t.m6):
        checked_in(t.act1, m.user, by=staff)
    t.act2 = activity(
        t.a, starts_at=at(2025, 3, 5), category=Activity.Category.THREE_MEETINGS_ONE_LESSON, organiser=staff
    )
    for m in (t.m1, t.m2, t.m7):
        enrolled(t.act2, m.user)
    checked_in(t.act2, t.m1.user, by=staff)
    on_leave(t.act2, t.m2.user, by=staff)  # m7 enrolled, did not come: absent
    t.act3 = activity(
        t.a,
        starts_at=at(2025, 3, 20),
        category=Activity.Category.PARTY_LESSON,
        audience=Activity.Audience.BRANCH,
        branch=t.u1,
        enrollment_required=False,
        organiser=staff,
    )  # every U1 member is expected
    checked_in(t.act3, t.m1.user, by=staff)
    on_leave(t.act3, t.m3.user, by=staff)
    t.act4 = activity(t.a, starts_at=at(2025, 4, 15), organiser=staff)  # Q2
    checked_in(t.act4, t.m1.user, by=staff)
    t.act6 = activity(t.a, starts_at=at(2024, 9, 1), brand=t.brand_a, organiser=staff)  # the brand's 2024
    for m in (t.m1, t.m2):
        checked_in(t.act6, m.user, by=staff)
    # Never held: a draft and a cancelled activity of the brand, and one still to come.
    activity(t.a, starts_at=at(2025, 5, 1), brand=t.brand_a, status=Activity.Status.DRAFT, organiser=staff)
    activity(
        t.a,
        starts_at=at(2025, 5, 2),
        brand=t.brand_a,
        status=Activity.Status.CANCELLED,
        cancel_reason="下雨",
        organiser=staff,
    )
    activity(
        t.a,
        starts_at=at(2099, 1, 1),
        brand=t.brand_a,
        status=Activity.Status.PUBLISHED,
        organiser=staff,
    )


def _service(t):
    a, b, staff = t.a, t.b, t.staff_a
    volunteer_hours(t.m1.user, a, started_at=at(2025, 2, 20), hours=3, activity_=t.act1, approved_by=staff)
    volunteer_hours(t.m1.user, a, started_at=at(2025, 3, 31, 23, 30), hours=1, approved_by=staff)  # Q1 in Shanghai
    volunteer_hours(t.m1.user, a, started_at=at(2025, 4, 1, 0, 30), hours=2, approved_by=staff)  # Q2
    from tests.volunteers.factories import record

    record(t.m1.user.volunteer, started_at=at(2025, 3, 1), hours=2)  # pending: never counts
    volunteer_hours(t.m2.user, b, started_at=at(2025, 1, 5), hours=13, approved_by=t.staff_b)
    volunteer_hours(t.m1.user, a, started_at=at(2024, 9, 1), hours=2, activity_=t.act6, approved_by=staff)

    points(t.m1.user, 5, created_at=at(2025, 2, 10))
    points(t.m1.user, 3, created_at=at(2025, 3, 5))
    points(t.m1.user, -2, created_at=at(2025, 3, 10), kind=PointsEntry.Kind.CORRECTION)
    points(t.m4.user, 10, created_at=at(2025, 4, 2))

    completed_demand(a, claimed_by=t.m1.user, done_at=at(2025, 3, 1))
    completed_demand(a, claimed_by=t.m7.user, done_at=at(2025, 3, 15), status=Demand.Status.DONE)
    completed_demand(a, claimed_by=t.liaison, organization=t.u1, done_at=at(2025, 2, 2))  # the unit's own
    completed_demand(a, claimed_by=t.m2.user, done_at=at(2025, 6, 1))  # Q2


def _brands(t):
    deadline_for(t.street, [t.a, t.b], dt.date(2025, 6, 30), title="七一前")
    PlanFactory(
        brand=t.brand_a,
        version=1,
        year=2025,
        status=BrandPlan.Status.RETURNED,
        submitted_at=at(2025, 6, 20),
        reviewed_at=at(2025, 6, 25),
    )
    t.plan_a = PlanFactory(
        brand=t.brand_a,
        version=2,
        year=2025,
        status=BrandPlan.Status.APPROVED,
        submitted_at=at(2025, 7, 5),
        reviewed_at=at(2025, 7, 8),
    )
    t.brand_b = BrandFactory(community=t.b, name="B社区品牌")  # a draft: not public
    t.plan_b = PlanFactory(brand=t.brand_b, version=1, year=2025)
    t.honor_brand = HonorFactory(
        brand=t.brand_a,
        organization=None,
        street=t.street,
        level=Honor.Level.MUNICIPAL,
        title="市级党建品牌",
        awarded_on=dt.date(2025, 7, 1),
    )
    t.honor_branch = HonorFactory(
        organization=t.branch_a, street=t.street, title="先进基层党组织", awarded_on=dt.date(2024, 7, 1)
    )


def _appeals(t):
    first = at(2025, 1, 10, 10)
    AppealFactory(
        community=t.a,
        submitted_at=first,
        status=Appeal.Status.RATED,
        accepted_at=first + dt.timedelta(hours=1),
        resolved_at=first + dt.timedelta(days=2),
        score=5,
        rated_at=first + dt.timedelta(days=3),
    )
    t.late = AppealFactory(
        community=t.a,
        submitted_at=at(2025, 2, 10, 10),
        status=Appeal.Status.ACCEPTED,
        accepted_at=at(2025, 2, 11, 16),
    )
    t.waiting = AppealFactory(community=t.a, submitted_at=at(2025, 3, 10, 10))
    AppealFactory(community=t.b, submitted_at=at(2025, 3, 11, 10))
