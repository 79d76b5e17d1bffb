"""请假 for branch meetings: members ask before the start, staff decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core import idempotency
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from .. import selectors
from ..models import Activity, LeaveRequest
from ._shared import Status, _announce_attendance, _blank, _notify, _require_manager


@dataclass(frozen=True)
class LeaveResult:
    leave: LeaveRequest
    created: bool


def require_leave_audience(activity: Activity, by: User) -> None:
    """Only someone the meeting is for may ask to be excused (views ask before reading the body)."""
    if by.pk not in selectors.expected_user_ids(activity) and not selectors.in_audience(activity, by):
        raise DomainError("not_in_audience", _("该活动不面向您"))


def require_leave_decider(by: User, leave: LeaveRequest) -> None:
    """Staff of the meeting's community decide a leave request, never their own (views ask before
    reading the body)."""
    _require_manager(by, leave.activity)
    # Deciding excuses the decider from the meeting: nobody decides their own request.
    if leave.user_id == by.pk:
        raise DomainError("permission_denied", _("不能审批本人的请假"))


@transaction.atomic
def request_leave(*, activity: Activity, by: User, reason: str, now: datetime | None = None) -> LeaveResult:
    """请假 before a branch meeting starts; asking again answers with the request there is."""
    now = now or timezone.now()
    # Who may ask comes first, before what is wrong with the asking, and before a retry's answer:
    # a request filed while a member gives no one who has since stopped being one an answer.
    require_leave_audience(activity, by)
    if not activity.is_meeting:
        raise field_error("activity", _("只有三会一课和党课可以请假"))
    # One active request per person and meeting (leaverequest_one_active): asking again answers with it.
    active = LeaveRequest.objects.filter(status__in=LeaveRequest.ACTIVE_STATUSES)
    existing = idempotency.replay_key(active, activity=activity, user=by)
    if existing is not None:
        return LeaveResult(existing, False)
    if _blank(reason):
        raise field_error("reason", _("请填写请假事由"))
    if activity.status != Status.PUBLISHED or now >= activity.starts_at:
        raise DomainError("not_open", _("请假须在活动开始前提出"))
    leave, created = idempotency.insert_once_key(
        lambda: LeaveRequest.objects.create(activity=activity, user=by, reason=reason.strip()[:500]),
        active,
        activity=activity,
        user=by,
    )
    if not created:
        return LeaveResult(leave, False)
    emit(
        event="leave.requested",
        data={"id": leave.pk, "activity_id": activity.pk, "user_id": by.pk},
        audience=Audience.user(by),
    )
    return LeaveResult(leave, True)


def _decide_leave(*, leave: LeaveRequest, by: User, status: str, note: str) -> LeaveRequest:
    leave = LeaveRequest.objects.select_for_update().select_related("activity").get(pk=leave.pk)
    # Who may decide first: the one asking to be excused hears 403, not what a refusal must say.
    require_leave_decider(by, leave)
    if status == LeaveRequest.Status.REJECTED and _blank(note):
        raise field_error("note", _("请填写不批准的理由"))
    if leave.status != LeaveRequest.Status.PENDING:
        raise DomainError("invalid_transition", _("只有待审批的请假可以审批"))
    leave.status = status
    leave.decided_by = by
    leave.decided_at = timezone.now()
    leave.decision_note = (note or "").strip()[:500]
    leave.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    approved = status == LeaveRequest.Status.APPROVED
    _notify(
        audience=Audience.user(leave.user_id),
        title=(_("请假已批准: %(title)s") if approved else _("请假未批准: %(title)s"))
        % {"title": leave.activity.title},
        body=leave.decision_note or (_("请假已批准。") if approved else _("请按时参加。")),
    )
    emit(
        event="leave.decided",
        data={"id": leave.pk, "activity_id": leave.activity_id, "status": leave.status},
        audience=Audience.user(leave.user_id),
    )
    _announce_attendance(leave.activity_id)
    return leave


@transaction.atomic
def end_leave_of_former_member(*, user_id: int, by: User, now: datetime | None = None) -> int:
    """A membership ended: the person's pending leave for upcoming meetings that are no longer for
    them is refused, so it neither lingers in the ledger nor waits for a decision. Returns how many."""
    now = now or timezone.now()
    pending = LeaveRequest.objects.filter(
        user_id=user_id,
        status=LeaveRequest.Status.PENDING,
        activity__status=Status.PUBLISHED,
        activity__starts_at__gt=now,
        activity__audience__in=[Activity.Audience.BRANCH, Activity.Audience.PARTY_MEMBERS],
    ).select_related("activity", "user")
    ended = 0
    for leave in pending.select_for_update(of=("self",)):
        # The audience alone: a place taken while a member is no entitlement once membership ends.
        if selectors.in_audience(leave.activity, leave.user):
            continue
        leave.status = LeaveRequest.Status.REJECTED
        leave.decided_by = by
        leave.decided_at = now
        leave.decision_note = _("党员报到已结束, 该活动不再面向您")
        leave.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        ended += 1
    return ended


@transaction.atomic
def approve_leave(*, leave: LeaveRequest, by: User, note: str = "") -> LeaveRequest:
    return _decide_leave(leave=leave, by=by, status=LeaveRequest.Status.APPROVED, note=note)


@transaction.atomic
def reject_leave(*, leave: LeaveRequest, by: User, note: str = "") -> LeaveRequest:
    """Refuse a pending leave request; staff must say why (the member reads it)."""
    return _decide_leave(leave=leave, by=by, status=LeaveRequest.Status.REJECTED, note=note)
