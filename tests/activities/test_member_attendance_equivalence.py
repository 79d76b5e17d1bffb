"""Attendance for a few people (a member's own 双报告 line) is read from their side, joined to the
period's activities: it answers as the reading of every activity of the period does for them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities import selectors
from backend.activities.models import Activity, Enrollment, LeaveRequest
from backend.communities.models import PartyOrganization
from backend.core.periods import parse_period
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, party_member
from tests.activities.test_attendance import phone_check_in

pytestmark = pytest.mark.django_db


def test_a_few_peoples_attendance_answers_as_the_whole_periods(community, other_community):
    now = timezone.now()
    branch = factories.OrganizationFactory(community=community)
    group = factories.OrganizationFactory(community=community, parent=branch, kind=PartyOrganization.Kind.GROUP)
    other_branch = factories.OrganizationFactory(community=other_community)
    in_branch = party_member(organization=branch).user
    in_group = party_member(organization=group).user
    elsewhere = party_member(organization=other_branch).user
    resident = factories.UserFactory(community=community)
    people = [in_branch, in_group, elsewhere, resident]

    def held(hours_ago: int, **fields) -> Activity:
        return ActivityFactory(
            starts_at=now - timedelta(hours=hours_ago), ends_at=now - timedelta(hours=hours_ago - 2), **fields
        )

    meeting = {"category": Activity.Category.THREE_MEETINGS_ONE_LESSON, "audience": Activity.Audience.BRANCH}
    branch_meeting = held(5, community=community, branch=branch, **meeting)
    group_meeting = held(9, community=community, branch=group, **meeting)
    other_meeting = held(7, community=other_community, branch=other_branch, **meeting)
    still_open = ActivityFactory(
        community=community,
        branch=branch,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        **meeting,
    )
    day = held(30, community=community)
    finished = held(50, community=other_community, status=Activity.Status.FINISHED)
    draft = held(40, community=community, status=Activity.Status.DRAFT)
    long_ago = held(24 * 800, community=community)

    phone_check_in(branch_meeting, in_branch)
    phone_check_in(still_open, in_group)
    phone_check_in(day, resident)
    phone_check_in(draft, resident)
    phone_check_in(long_ago, in_branch)
    phone_check_in(finished, in_group, kind="out")
    LeaveRequest.objects.create(
        activity=group_meeting, user=in_group, reason="出差", status=LeaveRequest.Status.APPROVED, decided_at=now
    )
    LeaveRequest.objects.create(
        activity=other_meeting, user=elsewhere, reason="生病", status=LeaveRequest.Status.PENDING
    )
    enrol(day, in_branch)
    enrol(finished, elsewhere)
    enrol(finished, in_group, status=Enrollment.Status.WAITLISTED)
    enrol(draft, resident)

    year = timezone.localdate().year
    for period in ("all", str(year), f"{year - 2}"):
        for extra in (
            {},
            {"community_ids": [community.pk]},
            {"categories": Activity.MEETING_CATEGORIES},
        ):
            whole = selectors.member_attendance(period=parse_period(period), now=now, **extra)
            for chosen in ([in_branch], [in_group, resident], people):
                ids = [user.pk for user in chosen]
                few = selectors.member_attendance(period=parse_period(period), user_ids=ids, now=now, **extra)
                assert few == {pk: whole.get(pk, selectors.MemberAttendance()) for pk in ids}, (period, extra)
    # The comparison means something: absences, leave and attendance all appear.
    whole = selectors.member_attendance(period=parse_period("all"), now=now)
    assert whole[elsewhere.pk].absent == {other_meeting.pk, finished.pk}
    assert whole[in_group.pk].on_leave == {group_meeting.pk} and branch_meeting.pk in whole[in_group.pk].absent
    assert whole[in_branch.pk].attended == {branch_meeting.pk, long_ago.pk} and day.pk in whole[in_branch.pk].absent
