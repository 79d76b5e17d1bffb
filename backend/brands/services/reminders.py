"""Reminders of coming (or just missed) plan deadlines, sent once per window by the hourly job."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.communities.models import Community
from backend.core.events import Audience, emit
from backend.notices import services as notice_services
from backend.notices.models import Notice

from .. import selectors
from ..models import (
    BrandDeadlineCommunity,
    BrandPlan,
    PlanReminder,
)

# (kind, fewest days left, most days left): the job runs hourly and sends the kind whose window
# holds today, once, so a deadline set 10 days ahead still gets its early reminder and a day the
# scheduler was down is caught up. Overdue is caught up for a week, no longer, so old
# deadlines do not wake up.
REMINDER_WINDOWS: tuple[tuple[str, int, int], ...] = (
    (PlanReminder.Kind.D14, 8, 14),
    (PlanReminder.Kind.D7, 2, 7),
    (PlanReminder.Kind.D1, 0, 1),
    (PlanReminder.Kind.OVERDUE, -7, -1),
)


def reminder_kind(*, days_left: int) -> str | None:
    for kind, fewest, most in REMINDER_WINDOWS:
        if fewest <= days_left <= most:
            return kind
    return None


def _reminder_text(*, community: Community, due_date: date, days_left: int) -> tuple[str, str]:
    due = f"{due_date.year}年{due_date.month}月{due_date.day}日"
    if days_left < 0:
        return (
            _("品牌方案已逾期"),
            _("%(community)s的品牌设计及方案应于%(due)s前提交, 现已逾期, 请尽快提交街道审核。")
            % {"community": community.name, "due": due},
        )
    left = _("今天截止") if days_left == 0 else _("还有%(days)s天") % {"days": days_left}
    return (
        _("品牌方案提交提醒"),
        _("%(community)s的品牌设计及方案应于%(due)s前提交街道审核, %(left)s。")
        % {"community": community.name, "due": due, "left": left},
    )


def send_due_reminders(*, today: date) -> int:
    """Remind each community whose plan is not handed in of its coming (or just missed) deadline.

    `today` is the Asia/Shanghai date. Safe to run any number of times: each reminder's row is
    inserted first, under a unique constraint, and the event leaves only if that insert commits.
    Returns how many reminders went out.
    """
    earliest, latest = today - timedelta(days=7), today + timedelta(days=14)
    entries = list(
        BrandDeadlineCommunity.objects.filter(deadline__due_date__range=(earliest, latest)).select_related(
            "deadline", "community"
        )
    )
    if not entries:
        return 0
    community_ids = {entry.community_id for entry in entries}
    handed_in = set(
        BrandPlan.objects.filter(
            brand__community_id__in=community_ids, status__in=BrandPlan.HANDED_IN_STATUSES
        ).values_list("brand__community_id", "year")
    )
    already = set(
        PlanReminder.objects.filter(deadline_id__in={e.deadline_id for e in entries}).values_list(
            "deadline_id", "community_id", "due_date", "kind"
        )
    )
    staff = selectors.community_staff_ids(community_ids)
    sent = 0
    for entry in entries:
        due_date = entry.deadline.due_date
        days_left = (due_date - today).days
        kind = reminder_kind(days_left=days_left)
        if kind is None or (entry.community_id, entry.year) in handed_in:
            continue
        if (entry.deadline_id, entry.community_id, due_date, kind) in already:
            continue
        recipients = staff.get(entry.community_id)
        if not recipients:
            # Nobody to tell yet; once staff are appointed the reminder still goes out in its window.
            continue
        if _send_reminder(entry=entry, kind=kind, days_left=days_left, recipients=recipients):
            sent += 1
    return sent


def _send_reminder(*, entry: BrandDeadlineCommunity, kind: str, days_left: int, recipients: list[int]) -> bool:
    deadline = entry.deadline
    try:
        with transaction.atomic():
            PlanReminder.objects.create(
                deadline=deadline,
                community=entry.community,
                due_date=deadline.due_date,
                kind=kind,
                recipient_count=len(recipients),
            )
            title, body = _reminder_text(community=entry.community, due_date=deadline.due_date, days_left=days_left)
            emit(
                event="brand_plan.reminder",
                data={
                    "kind": kind,
                    "community": entry.community_id,
                    "community_name": entry.community.name,
                    "deadline": deadline.pk,
                    "due_date": deadline.due_date.isoformat(),
                    "days_left": days_left,
                    "title": str(title),
                    "body": str(body),
                },
                audience=Audience.users(recipients),
            )
            # Also kept in each recipient's inbox: staff offline when the reminder runs read it
            # later (and get a subscribe message), as with every notice.
            notice_services.create_notice(
                sender=None,
                title=str(title)[:100],
                body=str(body),
                kind=Notice.Kind.BRAND,
                audience=Audience.users(recipients),
            )
    except IntegrityError:
        # A second run got here first: it sent this one.
        return False
    return True
