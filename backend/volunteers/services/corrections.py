"""Corrections: new times from the organiser's staff, appended; the record's effective values follow."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from ..models import RecordCorrection, ServiceRecord, Volunteer, hours_between
from ._common import Status, _blank, _require_not_own, _require_staff_of
from .records import _check_times, _over_cap, _overlapping, _record_event, _refresh_overlap_flags
from .review import _award_hour_points, _lock_record


@transaction.atomic
def correct_record(
    *,
    record: ServiceRecord,
    by: User,
    started_at: datetime,
    ended_at: datetime,
    reason: str,
    now: datetime | None = None,
) -> RecordCorrection:
    """New times from the organiser's staff: a new correction row; the record's effective values follow it.

    The reported times and every earlier correction stay. Certificates already issued keep their
    snapshot. A correction may not make the record overlap another of the volunteer's.
    """
    now = now or timezone.now()
    Volunteer.objects.select_for_update().filter(pk=record.volunteer_id).first()
    record = _lock_record(record)
    _require_staff_of(by, record.community_id)
    _require_not_own(record, by)
    if _blank(reason):
        raise field_error("reason", _("请填写更正原因"))
    _check_times(started_at, ended_at, now=now)
    if record.status == Status.REJECTED:
        raise DomainError("invalid_transition", _("已驳回的记录不能更正"))
    if (started_at, ended_at) == (record.started_at, record.ended_at):
        raise field_error("started_at", _("与当前记录的时间相同, 无需更正"))
    if _overlapping(record.volunteer_id, started_at, ended_at, exclude_pk=record.pk).exists():
        raise DomainError("overlapping_record", _("更正后的时间与该志愿者的其他记录重叠"))
    old_neighbours = list(
        _overlapping(record.volunteer_id, record.started_at, record.ended_at, exclude_pk=record.pk).values_list(
            "pk", flat=True
        )
    )
    hours = hours_between(started_at, ended_at)
    correction = RecordCorrection.objects.create(
        record=record,
        previous_started_at=record.started_at,
        previous_ended_at=record.ended_at,
        previous_hours=record.hours,
        started_at=started_at,
        ended_at=ended_at,
        hours=hours,
        reason=reason.strip()[:500],
        corrected_by=by,
    )
    record.started_at, record.ended_at, record.hours = started_at, ended_at, hours
    record.over_cap_flag = _over_cap(hours)
    record.overlap_flag = False
    record.save(update_fields=["started_at", "ended_at", "hours", "over_cap_flag", "overlap_flag"])
    _refresh_overlap_flags(old_neighbours)
    if record.status == Status.APPROVED:
        _award_hour_points(record)
    emit(event="record.corrected", data=_record_event(record), audience=Audience.user(record.volunteer.user_id))
    return correction
