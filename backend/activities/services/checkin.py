"""Check-in and check-out by phone. They take no lock at all: the unique constraints on
(activity, user, kind) and (user, client_id) make a duplicate impossible, and a losing insert is
answered from the row that won."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core import geo
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import Activity, CheckIn, Enrollment
from ._shared import Status, _local
from .attendance import _after_attendance
from .codes import verify_token


def _accuracy_allowance(accuracy: Decimal | float | None) -> float:
    if accuracy is None:
        return 0.0
    return min(max(0.0, float(accuracy)), float(settings.CHECKIN_MAX_ACCURACY_ALLOWANCE_M))


def _locate(activity: Activity, latitude: Any, longitude: Any, accuracy: Any) -> tuple[int, bool]:
    if not geo.valid_position(latitude, longitude):
        raise field_error("latitude", _("坐标无效"))
    distance, inside, accepted = geo.within(
        centre=(activity.latitude, activity.longitude),
        point=(latitude, longitude),
        radius_m=activity.radius_m,
        allowance_m=_accuracy_allowance(accuracy),
    )
    if not accepted:
        raise DomainError(
            "out_of_range",
            _("您距活动地点约 %(distance)d 米, 超出签到范围(%(radius)d 米)")
            % {"distance": round(distance), "radius": activity.radius_m},
        )
    return round(distance), inside


def _require_may_check_in(activity: Activity, user: User) -> None:
    if activity.enrollment_required:
        status = selectors.enrollment_status(activity, user)
        if status == Enrollment.Status.ENROLLED:
            return
        if status == Enrollment.Status.WAITLISTED:
            raise DomainError("not_enrolled", _("您还在候补名单中, 不能签到"))
        raise DomainError("not_enrolled", _("请先报名该活动"))
    if not selectors.in_audience(activity, user):
        raise DomainError("not_in_audience", _("该活动不面向您"))


def _answer_from_existing(*, activity: Activity, user: User, kind: str, client_id: uuid.UUID | None) -> CheckIn | None:
    """What a repeat gets: the first answer for its own client_id, 409 for any other attempt."""
    rows = list(
        CheckIn.objects.filter(Q(activity=activity, user=user, kind=kind) | Q(user=user, client_id=client_id))
        if client_id is not None
        else CheckIn.objects.filter(activity=activity, user=user, kind=kind)
    )
    for row in rows:
        if client_id is not None and row.client_id == client_id:
            if row.activity_id == activity.pk and row.kind == kind:
                return row
            raise field_error("client_id", _("该 client_id 已用于另一次签到, 请为新的请求生成新的 client_id"))
    for row in rows:
        if row.activity_id == activity.pk and row.kind == kind:
            if kind == CheckIn.Kind.IN:
                raise DomainError("already_checked_in", _("您已签到"))
            raise DomainError("already_checked_in", _("您已签退"))
    return None


@dataclass(frozen=True)
class CheckInResult:
    check_in: CheckIn
    created: bool


def _insert(*, activity: Activity, user: User, kind: str, client_id: uuid.UUID | None, row: CheckIn) -> CheckInResult:
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            # One INSERT is atomic by itself: no BEGIN and COMMIT round trips on the busiest path.
            row.save(force_insert=True)
    except IntegrityError:
        existing = _answer_from_existing(activity=activity, user=user, kind=kind, client_id=client_id)
        if existing is None:
            raise
        return CheckInResult(existing, False)
    _after_attendance(activity, row)
    return CheckInResult(row, True)


def check_in(
    *,
    activity: Activity,
    user: User,
    client_id: uuid.UUID,
    token: str,
    latitude: Decimal | float,
    longitude: Decimal | float,
    accuracy: Decimal | float | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """签到 by phone: a fresh code, inside the window and the geofence, enrolled (or in the audience).

    The same client_id again answers with the first row (also once the code or window has passed);
    any other second attempt is 409 `already_checked_in`. Nothing is written on refusal.
    """
    now = now or timezone.now()
    try:
        verify_token(activity=activity, token=token, now=now)
        if activity.status != Status.PUBLISHED or not (activity.checkin_opens_at() <= now < activity.ends_at):
            raise DomainError(
                "not_open",
                _("签到时间为 %(start)s 至 %(end)s")
                % {"start": _local(activity.checkin_opens_at()), "end": _local(activity.ends_at)},
            )
        distance, inside = _locate(activity, latitude, longitude, accuracy)
        _require_may_check_in(activity, user)
    except DomainError:
        existing = _answer_from_existing(activity=activity, user=user, kind=CheckIn.Kind.IN, client_id=client_id)
        if existing is not None:
            return CheckInResult(existing, False)
        raise
    row = CheckIn(
        activity=activity,
        user=user,
        kind=CheckIn.Kind.IN,
        at=now,
        client_id=client_id,
        distance_m=distance,
        inside=inside,
        accuracy_m=None if accuracy is None else round(float(accuracy)),
    )
    return _insert(activity=activity, user=user, kind=CheckIn.Kind.IN, client_id=client_id, row=row)


def check_out(
    *,
    activity: Activity,
    user: User,
    client_id: uuid.UUID,
    token: str,
    latitude: Decimal | float,
    longitude: Decimal | float,
    accuracy: Decimal | float | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """签退: the same rules as check-in, after a check-in, until the check-out window closes."""
    now = now or timezone.now()
    try:
        verify_token(activity=activity, token=token, now=now)
        if activity.status != Status.PUBLISHED or not (
            activity.checkin_opens_at() <= now < activity.checkout_closes_at()
        ):
            raise DomainError(
                "not_open",
                _("签退截止于 %(end)s") % {"end": _local(activity.checkout_closes_at())},
            )
        distance, inside = _locate(activity, latitude, longitude, accuracy)
        if not selectors.has_checked_in(activity, user):
            raise DomainError("not_checked_in", _("请先签到"))
    except DomainError:
        existing = _answer_from_existing(activity=activity, user=user, kind=CheckIn.Kind.OUT, client_id=client_id)
        if existing is not None:
            return CheckInResult(existing, False)
        raise
    row = CheckIn(
        activity=activity,
        user=user,
        kind=CheckIn.Kind.OUT,
        at=now,
        client_id=client_id,
        distance_m=distance,
        inside=inside,
        accuracy_m=None if accuracy is None else round(float(accuracy)),
    )
    return _insert(activity=activity, user=user, kind=CheckIn.Kind.OUT, client_id=client_id, row=row)
