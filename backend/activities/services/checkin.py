"""Check-in and check-out by phone. They take no lock at all: the unique constraints on
(activity, user, kind) and (user, client_id) make a duplicate impossible, and a losing insert is
answered from the row that won."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core import geo, idempotency
from backend.core.errors import DomainError, field_error
from backend.core.statements import ModelInsert

from .. import selectors
from ..models import Activity, CheckIn, Enrollment
from ._shared import Status, _local
from .attendance import _after_attendance
from .codes import verify_token

# The check-in's INSERT, written once (core.statements): CheckIn has no save() of its own beyond
# the append-only refusal of a stored row, and no signal receivers.
_insert_statement = ModelInsert(CheckIn)


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


def _require_may_check_in(activity: Activity, by: User) -> None:
    if activity.enrollment_required:
        status = selectors.enrollment_status(activity, by)
        if status == Enrollment.Status.ENROLLED:
            return
        if status == Enrollment.Status.WAITLISTED:
            raise DomainError("not_enrolled", _("您还在候补名单中, 不能签到"))
        raise DomainError("not_enrolled", _("请先报名该活动"))
    if not selectors.in_audience(activity, by):
        raise DomainError("not_in_audience", _("该活动不面向您"))


@dataclass(frozen=True)
class CheckInResult:
    check_in: CheckIn
    created: bool


def _reused() -> DomainError:
    return field_error("client_id", _("该 client_id 已用于另一次签到, 请为新的请求生成新的 client_id"))


def _already(kind: str) -> DomainError:
    return DomainError("already_checked_in", _("您已签到") if kind == CheckIn.Kind.IN else _("您已签退"))


def _replayed(*, activity: Activity, by: User, kind: str, client_id: uuid.UUID) -> CheckIn | None:
    """The row this client_id already made for this check-in (a retry's first answer), or None.

    A client_id is unique with its user: one made for another check-in is refused.
    """
    row = idempotency.replay(CheckIn.objects.all(), client_id=client_id, user=by)
    if row is not None and (row.activity_id != activity.pk or row.kind != kind):
        raise _reused()
    return row


def _exists(activity: Activity, by: User, kind: str) -> bool:
    return CheckIn.objects.filter(activity=activity, user=by, kind=kind).exists()


def _record(
    *,
    activity: Activity,
    by: User,
    kind: str,
    client_id: uuid.UUID,
    at: datetime,
    accuracy: Decimal | float | None,
    validate: Callable[[], tuple[int, bool]],
) -> CheckInResult:
    """Validate, then insert, on core.idempotency and replayed lazily: the first attempt reads
    nothing before its insert.

    A retry (the same client_id) is answered from the first row whether its code and window still
    hold or not; any other attempt once the row of its kind exists is 409.
    """
    try:
        distance, inside = validate()
    except DomainError:
        first = _replayed(activity=activity, by=by, kind=kind, client_id=client_id)
        if first is not None:
            return CheckInResult(first, False)
        # A check-in's own row is known from the activity's query.
        taken = selectors.has_checked_in(activity, by) if kind == CheckIn.Kind.IN else _exists(activity, by, kind)
        if taken:
            raise _already(kind) from None
        raise
    if kind == CheckIn.Kind.IN and selectors.has_checked_in(activity, by):
        # Checked in already (rows are never deleted): the insert could only fail.
        first = _replayed(activity=activity, by=by, kind=kind, client_id=client_id)
        if first is None:
            raise _already(kind)
        return CheckInResult(first, False)
    row = CheckIn(
        activity=activity,
        user=by,
        kind=kind,
        at=at,
        client_id=client_id,
        distance_m=distance,
        inside=inside,
        accuracy_m=None if accuracy is None else round(float(accuracy)),
    )
    return _insert(row, activity=activity, by=by)


def _insert(row: CheckIn, *, activity: Activity, by: User) -> CheckInResult:
    """The one INSERT; a retry that met the constraint is answered from the row that won."""

    def insert() -> CheckIn:
        return _insert_statement.save(row)

    try:
        made, created = idempotency.insert_once(
            insert, CheckIn.objects.all(), client_id=row.client_id, user=by, single_statement=True
        )
    except IntegrityError:
        # Not this client_id's row: another attempt made the one of this kind first.
        if _exists(activity, by, row.kind):
            raise _already(row.kind) from None
        raise
    if not created:
        if made.activity_id != activity.pk or made.kind != row.kind:
            raise _reused() from None
        return CheckInResult(made, False)
    _after_attendance(activity, made)
    return CheckInResult(made, True)


def check_in(
    *,
    activity: Activity,
    by: User,
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
    moment = now or timezone.now()

    def validate() -> tuple[int, bool]:
        # Who may check in, then what is wrong with the code, the time or the place.
        _require_may_check_in(activity, by)
        verify_token(activity=activity, token=token, now=moment)
        if activity.status != Status.PUBLISHED or not (activity.checkin_opens_at() <= moment < activity.ends_at):
            raise DomainError(
                "not_open",
                _("签到时间为 %(start)s 至 %(end)s")
                % {"start": _local(activity.checkin_opens_at()), "end": _local(activity.ends_at)},
            )
        return _locate(activity, latitude, longitude, accuracy)

    return _record(
        activity=activity,
        by=by,
        kind=CheckIn.Kind.IN,
        client_id=client_id,
        at=moment,
        accuracy=accuracy,
        validate=validate,
    )


def check_out(
    *,
    activity: Activity,
    by: User,
    client_id: uuid.UUID,
    token: str,
    latitude: Decimal | float,
    longitude: Decimal | float,
    accuracy: Decimal | float | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """签退: the same rules as check-in, after a check-in, until the check-out window closes."""
    moment = now or timezone.now()

    def validate() -> tuple[int, bool]:
        # Only who checked in may check out, whatever the code, the time or the place.
        if not selectors.has_checked_in(activity, by):
            raise DomainError("not_checked_in", _("请先签到"))
        verify_token(activity=activity, token=token, now=moment)
        if activity.status != Status.PUBLISHED or not (
            activity.checkin_opens_at() <= moment < activity.checkout_closes_at()
        ):
            raise DomainError("not_open", _("签退截止于 %(end)s") % {"end": _local(activity.checkout_closes_at())})
        return _locate(activity, latitude, longitude, accuracy)

    return _record(
        activity=activity,
        by=by,
        kind=CheckIn.Kind.OUT,
        client_id=client_id,
        at=moment,
        accuracy=accuracy,
        validate=validate,
    )
