"""A member's own line of the 双报告 (`members/me/`), for one person, with one statement of its own.

`member_lines` computes the lines of a unit's members with seven grouped statements, each compiled
by the ORM; for the one person whose page asks for their line every time they open it, that was
half the page's work. Here the person's registrations and posts come from what `members/me` has
read of them (`OwnPerson`), and the period's figures from one statement written once: their
check-ins, approved leave and expected attendance at the period's held activities, their approved
service records, points and completed demands, each part a few rows of its own.
tests/reports/test_own_line.py holds it to `member_lines` over histories that fill every figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from backend.accounts.models import mask_phone
from backend.activities.models import Activity, CheckIn, Enrollment, LeaveRequest
from backend.communities.models import Community
from backend.core.periods import Period
from backend.core.statements import cursor as statement_cursor
from backend.members.selectors import OwnPerson
from backend.members.selectors.own import OwnAssignment, OwnRegistration

from .common import DEMAND_COMPLETED, HELD_STATUSES, RECORD_APPROVED, bounds, hours
from .feedback import OwnReportLine
from .lines import Meetings, ServiceTarget

# One row per activity and way of attending (the activities counted: held, published or finished,
# starting in the period), then one row per total. The first part's NULLs are typed: PostgreSQL
# resolves a UNION's column types from its arms in order.
_FIGURES = """
SELECT 'attended', a.id, a.category, CAST(NULL AS BIGINT), CAST(NULL AS NUMERIC)
FROM activities_checkin x JOIN activities_activity a ON a.id = x.activity_id
WHERE x.user_id = %(user)s AND x.kind = %(check_in)s
  AND a.status IN (%(held1)s, %(held2)s) AND a.starts_at >= %(start)s AND a.starts_at < %(end)s
UNION ALL
SELECT 'on_leave', a.id, a.category, NULL, NULL
FROM activities_leaverequest x JOIN activities_activity a ON a.id = x.activity_id
WHERE x.user_id = %(user)s AND x.status = %(leave_approved)s
  AND a.status IN (%(held1)s, %(held2)s) AND a.starts_at >= %(start)s AND a.starts_at < %(end)s
UNION ALL
SELECT 'expected', a.id, a.category, NULL, NULL
FROM activities_enrollment x JOIN activities_activity a ON a.id = x.activity_id
WHERE x.user_id = %(user)s AND x.status = %(enrolled)s AND a.ends_at <= %(now)s
  AND a.status IN (%(held1)s, %(held2)s) AND a.starts_at >= %(start)s AND a.starts_at < %(end)s
UNION ALL
SELECT 'expected', a.id, a.category, NULL, NULL
FROM activities_activity a
WHERE a.branch_id IN (%(organization)s, %(parent)s) AND a.category IN (%(meeting1)s, %(meeting2)s)
  AND a.audience = %(branch)s AND a.ends_at <= %(now)s
  AND a.status IN (%(held1)s, %(held2)s) AND a.starts_at >= %(start)s AND a.starts_at < %(end)s
UNION ALL
SELECT 'service', NULL, NULL, COUNT(r.id), SUM(r.hours)
FROM volunteers_servicerecord r JOIN volunteers_volunteer v ON v.id = r.volunteer_id
WHERE v.user_id = %(user)s AND r.status = %(record_approved)s
  AND r.started_at >= %(start)s AND r.started_at < %(end)s
UNION ALL
SELECT 'points', NULL, NULL, SUM(p.points), NULL
FROM members_pointsentry p
WHERE p.user_id = %(user)s AND p.created_at >= %(start)s AND p.created_at < %(end)s
UNION ALL
SELECT 'demands', NULL, NULL, COUNT(d.id), NULL
FROM members_demand d
WHERE d.claimed_by_id = %(user)s AND d.status IN (%(done1)s, %(done2)s)
  AND d.done_at >= %(start)s AND d.done_at < %(end)s
"""

_CONSTANTS = {
    "held1": HELD_STATUSES[0].value,
    "held2": HELD_STATUSES[1].value,
    "check_in": CheckIn.Kind.IN.value,
    "leave_approved": LeaveRequest.Status.APPROVED.value,
    "enrolled": Enrollment.Status.ENROLLED.value,
    "meeting1": Activity.MEETING_CATEGORIES[0].value,
    "meeting2": Activity.MEETING_CATEGORIES[1].value,
    "branch": Activity.Audience.BRANCH.value,
    "record_approved": RECORD_APPROVED.value,
    "done1": DEMAND_COMPLETED[0].value,
    "done2": DEMAND_COMPLETED[1].value,
}
# SQLite sums decimals as floats: read as the ORM reads a sum (15 significant digits).
_FLOAT_SUM = Context(prec=15)


@dataclass(frozen=True)
class OwnFigures:
    activities_attended: int
    meetings: Meetings
    volunteer_hours: Decimal
    volunteer_services: int
    points: int
    demands_completed: int


def own_figures(person: OwnPerson, *, start: datetime, end: datetime, now: datetime) -> OwnFigures:
    """The period's figures of the member's line: `member_lines`' attendance, service, points and
    demands for one person, from one statement."""
    member = person.member
    moment = connection.ops.adapt_datetimefield_value
    params: dict[str, Any] = {
        **_CONSTANTS,
        "user": member.user_id,
        "organization": member.organization_id,
        "parent": member.organization_parent_id,
        "start": moment(start),
        "end": moment(end),
        "now": moment(now),
    }
    with statement_cursor(connection) as cursor:
        cursor.execute(_FIGURES, params)
        rows = cursor.fetchall()
    ways: dict[str, set[int]] = {"attended": set(), "on_leave": set(), "expected": set()}
    meetings: set[int] = set()
    totals: dict[str, Any] = {}
    for part, activity_id, category, n, amount in rows:
        if part in ways:
            ways[part].add(activity_id)
            if category in Activity.MEETING_CATEGORIES:
                meetings.add(activity_id)
        else:
            totals[part] = (n, amount)
    attended, on_leave = ways["attended"], ways["on_leave"]
    absent = ways["expected"] - attended - on_leave
    services, service_hours = totals["service"]
    if service_hours is not None and not isinstance(service_hours, Decimal):
        service_hours = _FLOAT_SUM.create_decimal_from_float(service_hours)
    return OwnFigures(
        activities_attended=len(attended),
        meetings=Meetings(
            attended=len(attended & meetings), on_leave=len(on_leave & meetings), absent=len(absent & meetings)
        ),
        volunteer_hours=hours(service_hours),
        volunteer_services=int(services or 0),
        points=int(totals["points"][0] or 0),
        demands_completed=int(totals["demands"][0] or 0),
    )


def _standing(registrations: tuple[OwnRegistration, ...], end: datetime) -> OwnRegistration | None:
    """The registration standing at `end` (`registered_at_end_q`); the latest approved wins."""
    standing = [
        r
        for r in registrations
        if r.approved_at is not None and r.approved_at < end and (r.withdrawn_at is None or r.withdrawn_at >= end)
    ]
    return max(standing, key=lambda r: (r.approved_at, r.id), default=None)


def _posts(assignments: tuple[OwnAssignment, ...], start: datetime, end: datetime) -> tuple[str, ...]:
    """The names of the posts held at any time in the period, in the order they were claimed."""
    names: list[str] = []
    for held in sorted(assignments, key=lambda a: (a.claimed_at, a.id)):
        if held.claimed_at < end and (held.left_at is None or held.left_at > start) and held.post_name not in names:
            names.append(held.post_name)
    return tuple(names)


def own_report_line(
    person: OwnPerson, period: Period, *, label: str = "", now: datetime | None = None
) -> OwnReportLine:
    """The member's own line of the 双报告 for a bounded period, as `member_report_line` gives it."""
    start, end = bounds(period)
    member = person.member
    standing = _standing(person.registrations, end)
    figures = own_figures(person, start=start, end=end, now=now or timezone.now())
    target = ServiceTarget.for_period(period)
    return OwnReportLine(
        member_id=member.id,
        user_id=member.user_id,
        name=member.real_name,
        phone=mask_phone(member.phone),
        community=None if standing is None else Community(pk=standing.community_id, name=standing.community_name),
        grid=None if standing is None else standing.grid_name,
        registered_at=None if standing is None else standing.approved_at,
        posts=_posts(person.assignments, start, end),
        activities_attended=figures.activities_attended,
        meetings=figures.meetings,
        volunteer_hours=figures.volunteer_hours,
        volunteer_services=figures.volunteer_services,
        demands_completed=figures.demands_completed,
        points=figures.points,
        meets_target=target.met_by(
            hours=figures.volunteer_hours, services=figures.volunteer_services + figures.demands_completed
        ),
        period=label or None,
        start=start,
        end=end,
        target=target,
    )
