"""Attendance recorded by hand, and what follows every attendance row once it commits: the live
counts, the points task and, for a service activity's check-out, the attended span."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError, field_error

from .. import registry, selectors
from ..models import Activity, CheckIn, Enrollment
from ._shared import Status, _announce_attendance, _blank, _require_manager

logger = logging.getLogger(__name__)


def record_attendance(
    *,
    activity: Activity,
    by: User,
    user: User,
    reason: str,
    kind: str = CheckIn.Kind.IN,
    at: datetime | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Staff record a check-in or check-out by hand (someone without a phone). The row names who
    recorded it and why, and is never edited: it is its own audit trail.

    Nobody records themselves: whoever records vouches for someone else's presence, and staff
    attend with their own phone like everyone else."""
    _require_manager(by, activity)
    if user.pk == by.pk:
        raise DomainError("permission_denied", _("不能为本人人工登记出勤"))
    if _blank(reason):
        raise field_error("reason", _("请填写人工登记的原因"))
    if kind not in CheckIn.Kind.values:
        raise field_error("kind", _("未知的登记类型"))
    if activity.status not in (Status.PUBLISHED, Status.FINISHED):
        raise DomainError("invalid_transition", _("只有已发布或已结束的活动可以登记出勤"))
    now = now or timezone.now()
    at = at or now
    if at > now + timedelta(minutes=1) or not (activity.checkin_opens_at() <= at <= activity.checkout_closes_at()):
        raise field_error("at", _("登记时间须在活动签到时段内且不晚于现在"))
    if kind == CheckIn.Kind.IN:
        if not (
            Enrollment.objects.filter(activity=activity, user=user, status=Enrollment.Status.ENROLLED).exists()
            or selectors.in_audience(activity, user)
        ):
            raise DomainError("not_in_audience", _("该活动不面向此人"))
    else:
        check_in_row = CheckIn.objects.filter(activity=activity, user=user, kind=CheckIn.Kind.IN).first()
        if check_in_row is None:
            raise DomainError("not_checked_in", _("此人尚未签到"))
        if at < check_in_row.at:
            raise field_error("at", _("签退时间不能早于签到时间"))
    row = CheckIn(
        activity=activity, user=user, kind=kind, at=at, manual=True, reason=reason.strip()[:200], recorded_by=by
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            _after_attendance(activity, row)
    except IntegrityError:
        if CheckIn.objects.filter(activity=activity, user=user, kind=kind).exists():
            raise DomainError(
                "already_checked_in", _("此人已签到") if kind == CheckIn.Kind.IN else _("此人已签退")
            ) from None
        raise
    return row


def _after_attendance(activity: Activity, row: CheckIn) -> None:
    """Inside the insert's transaction: everything that follows it leaves only once it commits."""
    _announce_attendance(activity.pk)
    if row.kind == CheckIn.Kind.IN:
        # A phone check-in is a statement written once: no signal says the community's pages changed.
        selectors.pages.touch(str(activity.community_id))
    if row.kind == CheckIn.Kind.IN and activity.points > 0:
        activity_id, user_id = activity.pk, row.user_id

        def award() -> None:
            # The module, never the task's name: the task is called as the service in points.py
            # is, and tasks imports services, so it is imported here, once the commit has happened.
            from .. import tasks

            try:
                tasks.award_attendance_points.enqueue(activity_id, user_id)
            except Exception:
                # The scheduler's sweep at the end of the activity awards it anyway.
                logger.exception("could not enqueue points for activity %s user %s", activity_id, user_id)

        transaction.on_commit(award, robust=True)
    if row.kind == CheckIn.Kind.OUT and activity.counts_as_service:
        check_in_row = CheckIn.objects.get(activity=activity, user_id=row.user_id, kind=CheckIn.Kind.IN)
        span = registry.AttendedSpan(
            activity_id=activity.pk,
            community_id=activity.community_id,
            user_id=row.user_id,
            title=activity.title,
            place=activity.place,
            started_at=check_in_row.at,
            ended_at=row.at,
            check_in_id=check_in_row.pk,
            check_out_id=row.pk,
        )
        transaction.on_commit(lambda: registry.announce_checkout(span), robust=True)
