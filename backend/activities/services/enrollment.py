"""Enrolment with a waiting list. Enrolments serialise on the activity's row
(`select_for_update`), so capacity holds however many enrol at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core import idempotency
from backend.core.errors import DomainError
from backend.core.events import Audience, emit

from .. import selectors
from ..models import Activity, Enrollment
from ._shared import Status, _announce_attendance, _local, _lock, _notify


@dataclass(frozen=True)
class EnrollmentResult:
    enrollment: Enrollment
    created: bool
    position: int | None


@transaction.atomic
def enroll(*, activity: Activity, by: User, now: datetime | None = None) -> EnrollmentResult:
    """Sign up, or join the waiting list when full. Enrolling again answers with the sign-up there is."""
    now = now or timezone.now()
    activity = _lock(activity)
    # One active enrolment per person and activity (enrollment_one_active): enrolling again answers
    # with it. The activity's lock queues enrolments; the constraint holds whatever the lock.
    active = Enrollment.objects.filter(status__in=Enrollment.ACTIVE_STATUSES)
    existing = idempotency.replay_key(active, activity=activity, user=by)
    if existing is not None:
        return EnrollmentResult(existing, False, selectors.waitlist_position(existing))
    # Who may enrol before whether enrolment is still open: someone it is not for hears 403.
    if not selectors.in_audience(activity, by):
        raise DomainError("not_in_audience", _("该活动不面向您"))
    if not activity.is_open_for_enrollment(now=now):
        raise DomainError("enrollment_closed", _("报名已截止"))
    full = activity.capacity is not None and selectors.enrolled_count(activity) >= activity.capacity
    enrollment, created = idempotency.insert_once_key(
        lambda: Enrollment.objects.create(
            activity=activity,
            user=by,
            status=Enrollment.Status.WAITLISTED if full else Enrollment.Status.ENROLLED,
            created_at=now,
        ),
        active,
        activity=activity,
        user=by,
    )
    if not created:
        return EnrollmentResult(enrollment, False, selectors.waitlist_position(enrollment))
    position = selectors.waitlist_position(enrollment)
    emit(
        event="enrollment.created",
        data={"activity_id": activity.pk, "status": enrollment.status, "position": position},
        audience=Audience.user(by),
    )
    _announce_attendance(activity.pk)
    return EnrollmentResult(enrollment, True, position)


@transaction.atomic
def withdraw(*, activity: Activity, by: User, now: datetime | None = None) -> Enrollment:
    """Give up a place (or a place in line) before the start; the first in line moves up."""
    now = now or timezone.now()
    activity = _lock(activity)
    enrollment = selectors.active_enrollment(activity, by)
    if enrollment is None:
        raise DomainError("not_enrolled", _("您没有报名该活动"))
    if activity.status != Status.PUBLISHED or now >= activity.starts_at:
        raise DomainError("enrollment_closed", _("活动已开始或已结束, 不能取消报名"))
    was_enrolled = enrollment.status == Enrollment.Status.ENROLLED
    enrollment.status = Enrollment.Status.WITHDRAWN
    enrollment.withdrawn_at = now
    enrollment.save(update_fields=["status", "withdrawn_at"])
    if was_enrolled:
        _promote_waitlist(activity, now=now)
    _announce_attendance(activity.pk)
    return enrollment


def _promote_waitlist(activity: Activity, *, now: datetime | None = None) -> list[Enrollment]:
    """Fill free places from the waiting list, first come first served. Call with the activity locked."""
    waiting = Enrollment.objects.filter(activity=activity, status=Enrollment.Status.WAITLISTED).order_by("id")
    if activity.capacity is not None:
        free = activity.capacity - selectors.enrolled_count(activity)
        if free <= 0:
            return []
        waiting = waiting[:free]
    promoted = list(waiting)
    if not promoted:
        return []
    now = now or timezone.now()
    Enrollment.objects.filter(pk__in=[e.pk for e in promoted]).update(
        status=Enrollment.Status.ENROLLED, promoted_at=now
    )
    selectors.pages.touch(str(activity.community_id))  # one UPDATE: no signal said it
    user_ids = [e.user_id for e in promoted]
    _notify(
        audience=Audience.users(user_ids),
        title=_("候补成功: %(title)s") % {"title": activity.title},
        body=_("您已从候补转为正式报名。时间: %(start)s, 地点: %(place)s")
        % {"start": _local(activity.starts_at), "place": activity.place},
    )
    emit(
        event="enrollment.promoted",
        data={"activity_id": activity.pk, "status": Enrollment.Status.ENROLLED},
        audience=Audience.users(user_ids),
    )
    for enrollment in promoted:
        enrollment.status = Enrollment.Status.ENROLLED
        enrollment.promoted_at = now
    return promoted
