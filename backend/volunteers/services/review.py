"""The organiser's staff decide on a record: approve (with its points) or reject, once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit
from backend.members import services as member_services

from ..models import ServiceRecord
from ._common import Status, _blank, _require_not_own, _require_staff_of
from .records import _overlapping, _record_event, _refresh_overlap_flags

POINTS_RULE = "volunteer_hour"


def _lock_record(record: ServiceRecord) -> ServiceRecord:
    return (
        ServiceRecord.objects.select_for_update(of=("self",)).select_related("volunteer", "community").get(pk=record.pk)
    )


def _award_hour_points(record: ServiceRecord) -> None:
    """Points for approved hours through the members' ledger: one award per whole hour.

    The rule (`volunteer_hour`) is worth its points per hour; each hour's award has its own source
    (`record:<id>:<n>`), so approving, or correcting upwards later, never awards an hour twice.
    Someone who is not a party member gets nothing (None), as does an hour past the yearly cap.
    """
    year = timezone.localtime(record.started_at).year
    for hour in range(1, int(record.hours) + 1):
        entry = member_services.award_points(
            user=record.volunteer.user,
            rule_code=POINTS_RULE,
            source=f"record:{record.pk}:{hour}",
            year=year,
            community=record.community,
        )
        if entry is None:
            break


def require_reviewer(*, record: ServiceRecord, by: User) -> None:
    """Who may approve, reject or correct the record: the organiser's staff, never on their own
    hours. Views ask before reading the body, so whoever may not act hears so first."""
    _require_staff_of(by, record.community_id)
    _require_not_own(record, by)


@transaction.atomic
def approve_record(*, record: ServiceRecord, by: User, confirm_flags: bool = False) -> ServiceRecord:
    """The organiser's staff approve once: a second approval, concurrent or not, is refused.

    A flagged record (overlapping another, or longer than the cap) is approved only when the
    reviewer confirms having looked at the flags: nothing flagged is ever approved in bulk.
    """
    record = _lock_record(record)
    _require_staff_of(by, record.community_id)
    _require_not_own(record, by)
    if record.status != Status.PENDING:
        raise DomainError("invalid_transition", _("只有待审核的记录可以审核"))
    if record.is_flagged and not confirm_flags:
        raise DomainError("invalid_transition", _("该记录被标记为需复核(时段重叠或超过单条时长上限), 请核实后确认通过"))
    record.status = Status.APPROVED
    record.approved_by = by
    record.approved_at = timezone.now()
    record.save(update_fields=["status", "approved_by", "approved_at"])
    _award_hour_points(record)
    emit(event="record.approved", data=_record_event(record), audience=Audience.user(record.volunteer.user_id))
    return record


@transaction.atomic
def reject_record(*, record: ServiceRecord, by: User, reason: str) -> ServiceRecord:
    record = _lock_record(record)
    _require_staff_of(by, record.community_id)
    _require_not_own(record, by)
    if _blank(reason):
        raise field_error("reason", _("请填写驳回原因"))
    if record.status != Status.PENDING:
        raise DomainError("invalid_transition", _("只有待审核的记录可以驳回"))
    neighbours = list(
        _overlapping(record.volunteer_id, record.started_at, record.ended_at, exclude_pk=record.pk).values_list(
            "pk", flat=True
        )
    )
    record.status = Status.REJECTED
    record.rejected_by = by
    record.rejected_at = timezone.now()
    record.reject_reason = reason.strip()[:500]
    record.save(update_fields=["status", "rejected_by", "rejected_at", "reject_reason"])
    _refresh_overlap_flags(neighbours)
    emit(event="record.rejected", data=_record_event(record), audience=Audience.user(record.volunteer.user_id))
    return record
