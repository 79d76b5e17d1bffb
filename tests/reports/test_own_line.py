"""A member's own 双报告 line, as `members/me/` shows it, is computed for one person with one
statement (selectors.own_report_line) from what the page has read of them, and written directly
(answers.own_line_data). Held here to the per-community computation (`member_lines`, which the unit's
report uses) over the town's histories and one that fills what the town leaves out, for several
periods and moments; to OwnReportLineSerializer's rendering; and, for the whole page, to the former
reading of `members/me/`."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import pytest
from rest_framework.renderers import JSONRenderer

from backend.activities.models import Activity, CheckIn, Enrollment, LeaveRequest
from backend.communities.models import PartyOrganization
from backend.core.periods import parse_period
from backend.members import selectors as members
from backend.members.models import Demand, MemberRegistration, PartyMember, PostAssignment
from backend.reports import selectors
from backend.reports.answers import own_line_data
from backend.reports.serializers import OwnReportLineSerializer
from backend.volunteers.models import ServiceRecord
from tests import factories
from tests.members.factories import PostFactory, RegistrationFactory
from tests.members.me_reference import former_page
from tests.volunteers.factories import record

from .factories import activity, at, checked_in, completed_demand, enrolled, member, points, volunteer_hours

pytestmark = pytest.mark.django_db

PERIODS = ["2025", "2025H1", "2025Q1", "2025Q2", "2025Q3", "2025-03", "2025-04", "2024", "2026Q1"]
# After everything; while the 三会一课 of 5 March is under way (its check-in not yet closed).
NOWS = [at(2026, 6, 1), at(2025, 3, 5, 10)]


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def busy(town):
    """周八, in a group of U1 (so U1's branch lesson expects them), with what the town's members
    lack: a grid, a registration that ended before the standing one, fractional and refused hours,
    a waiting-list place, leave still pending, a check-out without a check-in, a check-in at a draft,
    a post held twice under one name and posts at the period's edges, points and a demand at them."""
    staff = town.staff_a
    group = factories.OrganizationFactory(community=town.a, parent=town.u1, kind=PartyOrganization.Kind.GROUP)
    g = member(group, home=town.a, registered_with=town.a, approved_at=at(2025, 1, 2), real_name="周八")
    MemberRegistration.objects.filter(member=g).update(grid=factories.GridFactory(community=town.a, name="一网格"))
    RegistrationFactory(
        member=g,
        community=town.b,
        organization=group,
        status=MemberRegistration.Status.WITHDRAWN,
        approved_at=at(2024, 6, 1),
        withdrawn_at=at(2025, 1, 1, 0, 0),  # as 2024 ended: standing at its end
    )
    user = g.user
    volunteer_hours(user, town.a, started_at=at(2025, 2, 3), hours="2.75", approved_by=staff)
    volunteer_hours(user, town.a, started_at=at(2025, 3, 3), hours="0.5", approved_by=staff)
    record(user.volunteer, community=town.a, started_at=at(2025, 3, 4), hours=4, status=ServiceRecord.Status.REJECTED)
    Enrollment.objects.create(activity=town.act2, user=user, status=Enrollment.Status.WAITLISTED)
    LeaveRequest.objects.create(activity=town.act1, user=user, reason="出差", status=LeaveRequest.Status.PENDING)
    CheckIn.objects.create(
        activity=town.act4,
        user=user,
        kind=CheckIn.Kind.OUT,
        at=town.act4.starts_at,
        manual=True,
        recorded_by=staff,
        reason="现场补登",
    )
    draft = activity(town.a, starts_at=at(2025, 3, 8), status=Activity.Status.DRAFT, organiser=staff)
    checked_in(draft, user, by=staff)
    meeting = activity(
        town.a,
        starts_at=at(2025, 3, 25),
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
        audience=Activity.Audience.BRANCH,
        branch=group,
        enrollment_required=False,
        organiser=staff,
    )
    enrolled(meeting, user)  # expected twice over (enrolled, and of the group): absent once
    # The group's lesson for the whole community: its branch does not make its members expected.
    activity(
        town.a,
        starts_at=at(2025, 3, 27),
        category=Activity.Category.PARTY_LESSON,
        audience=Activity.Audience.COMMUNITY,
        branch=group,
        organiser=staff,
    )
    party_day = activity(town.a, starts_at=at(2025, 3, 26), organiser=staff)
    enrolled(party_day, user)  # absent from a party day: not a meeting
    for community, claimed_at, left_at in (
        (town.a, at(2024, 12, 1), at(2025, 2, 1)),  # left during Q1
        (town.b, at(2025, 2, 15), None),  # the same name elsewhere: counted once
        (town.c, at(2024, 10, 1), at(2025, 1, 1, 0, 0)),  # left as Q1 began: not in Q1
        (town.d, at(2025, 4, 1, 0, 0), None),  # claimed as Q2 began: not in Q1
    ):
        name = {town.c: "调解员", town.d: "环境卫生"}.get(community, "宣讲员")
        post = PostFactory(community=community, name=name)
        PostAssignment.objects.create(post=post, member=g, claimed_at=claimed_at, left_at=left_at)
    points(user, 4, created_at=at(2025, 1, 1, 0, 0))  # the first moment of Q1
    points(user, 9, created_at=at(2025, 4, 1, 0, 0))  # the first moment of Q2
    completed_demand(town.a, claimed_by=user, done_at=at(2025, 4, 1, 0, 0), status=Demand.Status.DONE)
    completed_demand(town.a, claimed_by=user, done_at=at(2025, 3, 31, 23, 59))
    return g


def _reference(party_member: PartyMember, period: str, now: dt.datetime) -> selectors.OwnReportLine:
    """The member's line as the unit's report computes it, among every member's."""
    everyone = list(PartyMember.objects.order_by("id"))
    bounded = parse_period(period)
    [line] = [
        line for line in selectors.member_lines(everyone, period=bounded, now=now) if line.member_id == party_member.pk
    ]
    start, end = selectors.bounds(bounded)
    return selectors.OwnReportLine(
        **{f.name: getattr(line, f.name) for f in fields(line)},
        period=period,
        start=start,
        end=end,
        target=selectors.ServiceTarget.for_period(bounded),
    )


def _people(town, busy) -> list[PartyMember]:
    return [town.m1, town.m2, town.m3, town.m4, town.m5, town.m6, town.m7, busy]


def test_the_own_line_answers_as_the_units_report(town, busy):
    for party_member in _people(town, busy):
        person = members.own_page(party_member.user).person
        for period in PERIODS:
            for now in NOWS:
                own = selectors.own_report_line(person, parse_period(period), label=period, now=now)
                reference = _reference(party_member, period, now)
                assert rendered(OwnReportLineSerializer(own).data) == rendered(
                    OwnReportLineSerializer(reference).data
                ), (party_member.real_name, period, now)


def test_the_histories_fill_every_figure(town, busy):
    """What the comparison above is worth: each figure takes a value other than its empty one for
    somebody, and busy's line counts what the fixture says."""
    lines = [
        _reference(party_member, period, now)
        for party_member in _people(town, busy)
        for period in PERIODS
        for now in NOWS
    ]
    for figure in ("community", "grid", "registered_at", "posts", "activities_attended", "volunteer_services"):
        assert {bool(getattr(line, figure)) for line in lines} == {True, False}, figure
    for figure in ("attended", "on_leave", "absent"):
        assert {bool(getattr(line.meetings, figure)) for line in lines} == {True, False}, figure
    assert {line.meets_target for line in lines} == {True, False}
    assert {bool(line.demands_completed) for line in lines} == {True, False}
    assert {line.points < 0 or line.points > 0 for line in lines} == {True, False}
    q1 = _reference(busy, "2025Q1", NOWS[0])
    assert (q1.community.name, q1.grid, q1.posts, str(q1.volunteer_hours), q1.volunteer_services) == (
        "A社区",
        "一网格",
        ("宣讲员",),
        "3.25",
        2,
    )
    assert (q1.meetings.attended, q1.meetings.on_leave, q1.meetings.absent, q1.points, q1.demands_completed) == (
        0,
        0,
        2,
        4,
        1,
    )
    assert _reference(busy, "2024", NOWS[0]).community.name == "B社区"


def test_one_statement_whatever_the_rows(town, busy, django_assert_num_queries):
    for party_member in (busy, town.m1, town.m6):
        person = members.own_page(party_member.user).person
        with django_assert_num_queries(1):
            selectors.own_report_line(person, parse_period("2025"), label="2025")


def test_the_line_is_written_as_the_serializer_writes_it(town, busy):
    for party_member in _people(town, busy):
        person = members.own_page(party_member.user).person
        for period, label in (("2025Q1", "2025Q1"), ("2025", ""), ("2024", "2024")):
            line = selectors.own_report_line(person, parse_period(period), label=label, now=NOWS[0])
            assert rendered(own_line_data(line)) == rendered(OwnReportLineSerializer(line).data)


@pytest.mark.parametrize("period", [None, "2025Q1", "2025"])
def test_members_me_answers_as_the_former_reading(town, busy, as_user, period):
    query = {"period": period} if period else {}
    label = period or str(members.current_year())
    for user in [party_member.user for party_member in _people(town, busy)] + [town.resident, town.liaison]:
        line = selectors.member_report_line(user, parse_period(label), label=label)
        expected = former_page(user, report=line.as_data() if line is not None else None)
        assert as_user(user).get("/api/v1/members/me/", query).content == expected, user
