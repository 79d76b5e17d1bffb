"""Reads of attendance: the live counts, the ledger (台账) of one activity, and attendance, leave
and absence per member over a period (for the reports)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.db.models import Model, Q, QuerySet, TextChoices
from django.utils import timezone

from backend.accounts.models import User, mask_phone
from backend.core.periods import Period
from backend.members.models import PartyMember

from ..models import Activity, CheckIn, Enrollment, LeaveRequest
from .visibility import AudienceKind, Status, _count_of, branch_member_user_ids

_M = TypeVar("_M", bound=Model)


def attendance_counts(activity_id: int) -> dict[str, int]:
    """The live figures staff watch: one query."""
    row = (
        Activity.objects.filter(pk=activity_id)
        .annotate(
            enrolled=_count_of(Enrollment.objects.filter(status=Enrollment.Status.ENROLLED)),
            waitlisted=_count_of(Enrollment.objects.filter(status=Enrollment.Status.WAITLISTED)),
            checked_in=_count_of(CheckIn.objects.filter(kind=CheckIn.Kind.IN)),
            checked_out=_count_of(CheckIn.objects.filter(kind=CheckIn.Kind.OUT)),
            on_leave=_count_of(LeaveRequest.objects.filter(status=LeaveRequest.Status.APPROVED)),
        )
        .values("enrolled", "waitlisted", "checked_in", "checked_out", "on_leave")
        .first()
    )
    if row is None:
        return {"activity_id": activity_id}
    return {
        "activity_id": activity_id,
        "enrolled": row["enrolled"],
        "waitlisted": row["waitlisted"],
        "checked_in": row["checked_in"],
        "checked_out": row["checked_out"],
        "on_leave": row["on_leave"],
    }


class Attendance(TextChoices):
    """How one person stands; absence only once check-in has closed."""

    PRESENT = "present", "出席"
    ON_LEAVE = "on_leave", "请假"
    ABSENT = "absent", "缺席"
    PENDING = "pending", "未签到"
    WAITLISTED = "waitlisted", "候补"


@dataclass
class LedgerRow:
    user_id: int
    real_name: str
    phone: str | None  # masked, unless the ledger was asked for full phones (the staff's export)
    enrollment: str | None = None
    expected: bool = False
    checked_in_at: datetime | None = None
    check_in_manual: bool = False
    check_in_reason: str = ""
    distance_m: int | None = None
    inside: bool | None = None
    checked_out_at: datetime | None = None
    leave: str | None = None
    leave_reason: str = ""
    attendance: str = Attendance.PENDING
    order: tuple[int, int] = (9, 0)


@dataclass
class Ledger:
    activity: Activity
    rows: list[LedgerRow]
    closed: bool
    counts: dict[str, int] = field(default_factory=dict)


def expected_user_ids(activity: Activity) -> set[int]:
    """Who is expected to attend: the enrolled and, for a branch meeting, every member of the branch."""
    expected = set(
        Enrollment.objects.filter(activity=activity, status=Enrollment.Status.ENROLLED).values_list(
            "user_id", flat=True
        )
    )
    if activity.is_meeting and activity.audience == AudienceKind.BRANCH and activity.branch_id is not None:
        expected |= branch_member_user_ids(activity.branch_id)
    return expected


def _judge(entries: Iterable[LedgerRow], *, closed: bool) -> dict[str, int]:
    """How each person stands (set on their row), and the ledger's counts."""
    counts = dict.fromkeys(("enrolled", "waitlisted", "checked_in", "checked_out", "on_leave", "absent"), 0)
    expected = 0
    for entry in entries:
        if entry.checked_in_at is not None:
            entry.attendance = Attendance.PRESENT
        elif entry.leave == LeaveRequest.Status.APPROVED:
            entry.attendance = Attendance.ON_LEAVE
        elif entry.expected:
            entry.attendance = Attendance.ABSENT if closed else Attendance.PENDING
        elif entry.enrollment == Enrollment.Status.WAITLISTED:
            entry.attendance = Attendance.WAITLISTED
        counts["enrolled"] += entry.enrollment == Enrollment.Status.ENROLLED
        counts["waitlisted"] += entry.enrollment == Enrollment.Status.WAITLISTED
        counts["checked_in"] += entry.checked_in_at is not None
        counts["checked_out"] += entry.checked_out_at is not None
        counts["on_leave"] += entry.attendance == Attendance.ON_LEAVE
        counts["absent"] += entry.attendance == Attendance.ABSENT
        expected += entry.expected
    counts["expected"] = expected
    return counts


def attendance_ledger(activity: Activity, *, now: datetime | None = None, full_phones: bool = False) -> Ledger:
    """台账: everyone enrolled, waiting, expected, checked in or asking for leave, with how they stand.

    A fixed number of queries whatever the number of people. The phone is the account's, else the
    one the member gave when registering (an account from WeChat alone has none); `full_phones`
    is for the staff's audited export, from which they call people.
    """
    now = now or timezone.now()
    closed = now >= activity.ends_at or activity.status == Status.FINISHED
    rows: dict[int, LedgerRow] = {}

    def row(user_id: int, order: tuple[int, int]) -> LedgerRow:
        found = rows.get(user_id)
        if found is None:
            found = rows[user_id] = LedgerRow(user_id=user_id, real_name="", phone=None, order=order)
        elif order < found.order:
            found.order = order
        return found

    for pk, user_id, status in Enrollment.objects.filter(
        activity=activity, status__in=Enrollment.ACTIVE_STATUSES
    ).values_list("pk", "user_id", "status"):
        entry = row(user_id, (0, pk))
        entry.enrollment = status
        entry.expected = entry.expected or status == Enrollment.Status.ENROLLED
    if activity.is_meeting and activity.audience == AudienceKind.BRANCH and activity.branch_id is not None:
        for user_id in branch_member_user_ids(activity.branch_id):
            row(user_id, (1, user_id)).expected = True
    for check in CheckIn.objects.filter(activity=activity).order_by("id"):
        entry = row(check.user_id, (2, check.pk))
        if check.kind == CheckIn.Kind.IN:
            entry.checked_in_at = check.at
            entry.check_in_manual = check.manual
            entry.check_in_reason = check.reason
            entry.distance_m = check.distance_m
            entry.inside = check.inside
        else:
            entry.checked_out_at = check.at
    for user_id, status, reason in LeaveRequest.objects.filter(
        activity=activity, status__in=LeaveRequest.ACTIVE_STATUSES
    ).values_list("user_id", "status", "reason"):
        entry = row(user_id, (3, user_id))
        entry.leave = status
        entry.leave_reason = reason
    member_phones = dict(PartyMember.objects.filter(user_id__in=list(rows)).values_list("user_id", "phone"))
    for user in User.objects.filter(pk__in=list(rows)).only("id", "real_name", "phone", "nickname"):
        entry = rows[user.pk]
        entry.real_name = user.real_name or user.nickname or f"用户{user.pk}"
        phone = user.phone or member_phones.get(user.pk) or None
        entry.phone = phone if full_phones else mask_phone(phone)

    counts = _judge(rows.values(), closed=closed)
    ordered = sorted(rows.values(), key=lambda entry: entry.order)
    return Ledger(activity=activity, rows=ordered, closed=closed, counts=counts)


# Per member over a period (the reports) ---------------------------------------------------------


@dataclass
class MemberAttendance:
    attended: set[int] = field(default_factory=set)  # activity ids
    on_leave: set[int] = field(default_factory=set)
    absent: set[int] = field(default_factory=set)

    def as_counts(self) -> dict[str, int]:
        return {"attended": len(self.attended), "on_leave": len(self.on_leave), "absent": len(self.absent)}


def _expected(
    activity_rows: Sequence[tuple[int, datetime, str, str, int | None]], *, now: datetime, wanted: set[int] | None
) -> set[tuple[int, int]]:
    """(user, activity) for whoever was expected at the activities whose check-in has closed: the
    enrolled and, at a branch meeting, every current member of the branch and its groups."""
    closed = {pk for pk, ends_at, *_ in activity_rows if ends_at <= now}
    enrolled = Enrollment.objects.filter(activity_id__in=closed, status=Enrollment.Status.ENROLLED)
    if wanted is not None:
        enrolled = enrolled.filter(user_id__in=wanted)
    expected: set[tuple[int, int]] = set(enrolled.values_list("user_id", "activity_id"))
    branch_meetings = [
        (pk, branch_id)
        for pk, _ends, category, audience, branch_id in activity_rows
        if pk in closed and category in Activity.MEETING_CATEGORIES and audience == AudienceKind.BRANCH and branch_id
    ]
    if branch_meetings:
        branch_ids = {branch_id for _pk, branch_id in branch_meetings}
        members = PartyMember.objects.filter(
            Q(organization_id__in=branch_ids) | Q(organization__parent_id__in=branch_ids)
        )
        if wanted is not None:
            members = members.filter(user_id__in=wanted)
        for user_id, organization_id, parent_id in members.values_list(
            "user_id", "organization_id", "organization__parent_id"
        ):
            for pk, branch_id in branch_meetings:
                if branch_id in (organization_id, parent_id):
                    expected.add((user_id, pk))
    return expected


def _expected_of(activities: QuerySet[Activity], *, now: datetime, wanted: set[int]) -> set[tuple[int, int]]:
    """`_expected` for a few people, read from their side: their enrolments at the closed
    activities, and the closed branch meetings of their own branches (or their groups' branch)."""
    closed = activities.filter(ends_at__lte=now)
    expected: set[tuple[int, int]] = set(
        Enrollment.objects.filter(
            activity__in=closed, status=Enrollment.Status.ENROLLED, user_id__in=wanted
        ).values_list("user_id", "activity_id")
    )
    own = PartyMember.objects.filter(user_id__in=wanted)
    meetings = closed.filter(
        Q(branch_id__in=own.values("organization_id")) | Q(branch_id__in=own.values("organization__parent_id")),
        category__in=Activity.MEETING_CATEGORIES,
        audience=AudienceKind.BRANCH,
    ).values_list("pk", "branch_id")
    branches: dict[int, list[int]] = {}
    for pk, branch_id in meetings:
        branches.setdefault(branch_id, []).append(pk)
    if branches:
        for user_id, organization_id, parent_id in own.values_list(
            "user_id", "organization_id", "organization__parent_id"
        ):
            for of in (organization_id, parent_id):
                if of is not None and of in branches:
                    expected.update((user_id, pk) for pk in branches[of])
    return expected


def member_attendance(
    *,
    period: Period,
    user_ids: Iterable[int] | None = None,
    community_ids: Iterable[int] | None = None,
    categories: Iterable[str] | None = None,
    now: datetime | None = None,
) -> dict[int, MemberAttendance]:
    """Attendance, approved leave and absence without leave per user, over activities starting in
    `period` (optionally only some communities' and categories'). Absence counts only activities
    whose check-in has closed; a branch meeting expects every current member of its branch.
    A fixed number of queries.
    """
    now = now or timezone.now()
    activities = Activity.objects.filter(period.q("starts_at"), status__in=[Status.PUBLISHED, Status.FINISHED])
    if community_ids is not None:
        activities = activities.filter(community_id__in=list(community_ids))
    if categories is not None:
        activities = activities.filter(category__in=list(categories))
    wanted = None if user_ids is None else set(user_ids)

    result: dict[int, MemberAttendance] = {}

    def entry(user_id: int) -> MemberAttendance:
        return result.setdefault(user_id, MemberAttendance())

    if wanted is not None:
        # A few people (a member's own line): their rows, joined to the period's activities,
        # rather than every activity of the period and then their rows among all of them.
        attended = CheckIn.objects.filter(activity__in=activities, kind=CheckIn.Kind.IN, user_id__in=wanted)
        on_leave = LeaveRequest.objects.filter(
            activity__in=activities, status=LeaveRequest.Status.APPROVED, user_id__in=wanted
        )
        expected = _expected_of(activities, now=now, wanted=wanted)
    else:
        activity_rows = list(activities.values_list("pk", "ends_at", "category", "audience", "branch_id"))
        ids = [pk for pk, *_ in activity_rows]
        attended = CheckIn.objects.filter(activity_id__in=ids, kind=CheckIn.Kind.IN)
        on_leave = LeaveRequest.objects.filter(activity_id__in=ids, status=LeaveRequest.Status.APPROVED)
        expected = _expected(activity_rows, now=now, wanted=None) if ids else set()
    for user_id, activity_id in attended.values_list("user_id", "activity_id"):
        entry(user_id).attended.add(activity_id)
    for user_id, activity_id in on_leave.values_list("user_id", "activity_id"):
        entry(user_id).on_leave.add(activity_id)

    for user_id, activity_id in expected:
        record = entry(user_id)
        if activity_id not in record.attended and activity_id not in record.on_leave:
            record.absent.add(activity_id)
    for pk in wanted or ():
        entry(pk)
    return result
