"""Activities' writes: the lifecycle, enrolment with a waiting list, check-in and check-out by
phone, manual attendance, leave, minutes and photos.

Each function runs in a transaction and raises a DomainError with a code from API.md. Enrolment
serialises on the activity's row (`select_for_update`), so capacity holds however many enrol at
once. Check-in and check-out take no lock at all: the unique constraints on (activity, user,
kind) and (user, client_id) make a duplicate impossible, and a losing insert is answered from the
row that won. Events leave with `emit()` after commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.brands.models import Brand
from backend.communities.models import Community, PartyOrganization, Place
from backend.core import geo, moderation
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit
from backend.core.models import Upload
from backend.core.selectors import uploads_owned_by
from backend.members import selectors as member_selectors
from backend.members import services as member_services
from backend.notices import selectors as notice_selectors
from backend.notices import services as notice_services
from backend.notices.models import Notice

from . import live, registry, selectors
from .models import Activity, ActivityPhoto, CheckIn, Enrollment, LeaveRequest, Minutes

logger = logging.getLogger(__name__)

Status = Activity.Status
TOKEN_SALT = "activities.checkin"
MAX_PHOTOS_PER_REQUEST = 9
MAX_PHOTOS_PER_ACTIVITY = 300
MAX_MINUTES_ATTACHMENTS = 20

# What staff may set when creating or changing an activity; everything else follows the lifecycle.
EDITABLE_FIELDS = (
    "title",
    "category",
    "description",
    "starts_at",
    "ends_at",
    "venue",
    "place",
    "latitude",
    "longitude",
    "radius_m",
    "capacity",
    "enrollment_required",
    "enrollment_deadline",
    "audience",
    "branch",
    "counts_as_service",
    "points",
    "brand",
    "cover",
    "checkin_opens_before_minutes",
    "checkout_closes_after_minutes",
)


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _require_manager(user: User | None, activity: Activity | Community) -> None:
    community_id = activity.pk if isinstance(activity, Community) else activity.community_id
    if not can_act_on_community(user, community_id):
        raise DomainError("permission_denied", _("需要本社区工作人员权限"))


def _lock(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


def activity_event(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "title": activity.title,
        "community_id": activity.community_id,
        "category": activity.category,
        "status": activity.status,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "place": activity.place,
    }


def _notify(*, audience: Audience, title: str, body: str) -> None:
    """A durable notice from the system (the inbox keeps it; the socket only hurries it along)."""
    if not audience.ids:
        return
    notice_services.create_notice(
        sender=None, title=title[:100], body=body, kind=Notice.Kind.ACTIVITY, audience=audience
    )


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# Create and change ----------------------------------------------------------------------------------


EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


def _take_venue(activity: Activity) -> None:
    """A saved place gives its position and geofence; its name too when no place text was given.

    Copied onto the activity, so check-in keeps reading one row and a later move of the place does
    not shift the fence of activities already announced (they are saved again to follow it).
    """
    if activity.venue_id is None:
        return
    venue = Place.objects.filter(pk=activity.venue_id).first()
    if venue is None or venue.community_id != activity.community_id:
        raise field_error("venue", _("活动场所须属于本社区"))
    activity.venue = venue
    activity.latitude, activity.longitude, activity.radius_m = venue.latitude, venue.longitude, venue.radius_m
    if _blank(activity.place):
        activity.place = venue.name


def validate_activity(activity: Activity) -> None:
    """The rules that span fields; single fields are checked by the model's validators."""
    _take_venue(activity)
    activity.latitude, activity.longitude = (
        geo.quantize_degrees(activity.latitude),
        geo.quantize_degrees(activity.longitude),
    )
    if activity.ends_at <= activity.starts_at:
        raise field_error("ends_at", _("结束时间须晚于开始时间"))
    # A year centuries off is a typo or garbage; before 1901 Asia/Shanghai is local mean time
    # (+08:05:43), which the API could not even write back as ISO 8601.
    for name in ("starts_at", "ends_at", "enrollment_deadline"):
        moment = getattr(activity, name)
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise field_error(name, _("时间须在 %(a)d 至 %(b)d 年之间") % {"a": EARLIEST_YEAR, "b": LATEST_YEAR})
    if activity.enrollment_deadline is not None and activity.enrollment_deadline > activity.ends_at:
        raise field_error("enrollment_deadline", _("报名截止不能晚于活动结束"))
    if not geo.valid_position(activity.latitude, activity.longitude):
        raise field_error("latitude", _("坐标无效"))
    if activity.category not in Activity.Category.values:
        raise field_error("category", _("未知的活动类别"))
    if activity.audience not in Activity.Audience.values:
        raise field_error("audience", _("未知的面向对象"))
    if activity.audience == Activity.Audience.BRANCH and activity.branch_id is None:
        raise field_error("branch", _("面向党支部的活动须指定党支部"))
    if activity.branch_id is not None:
        branch = PartyOrganization.objects.filter(pk=activity.branch_id).values_list("community_id", flat=True).first()
        if branch != activity.community_id:
            raise field_error("branch", _("党支部须属于本社区"))
    if activity.brand_id is not None:
        brand = Brand.objects.filter(pk=activity.brand_id).values_list("community_id", flat=True).first()
        if brand != activity.community_id:
            raise field_error("brand", _("品牌须属于本社区"))
    try:
        activity.full_clean(
            exclude=["community", "organiser", "branch", "brand", "cover", "venue"], validate_constraints=False
        )
    except ValidationError as exc:
        raise DomainError(
            "validation_error", _("输入有误"), fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        ) from None


def _default_points(category: str, community: Community) -> int:
    rule = member_selectors.rule_for(code=category, street_id=community.street_id)
    return max(0, rule.points) if rule is not None else 0


@transaction.atomic
def create_activity(*, by: User, community: Community, **fields: Any) -> Activity:
    """A draft; `points` defaults to what the category's points rule gives in the community's street,
    `enrollment_required` to off for the categories whose audience is known (OPEN_DOOR_CATEGORIES)."""
    _require_manager(by, community)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if fields.get("points") is None:
        fields["points"] = _default_points(fields.get("category", ""), community)
    if fields.get("enrollment_required") is None:
        fields["enrollment_required"] = fields.get("category") not in Activity.OPEN_DOOR_CATEGORIES
    activity = Activity(community=community, organiser=by, status=Status.DRAFT, **fields)
    validate_activity(activity)
    activity.save()
    return activity


@transaction.atomic
def update_activity(*, activity: Activity, by: User, **changes: Any) -> Activity:
    """Drafts and published activities change; a published one tells its sign-ups when or where moves."""
    activity = _lock(activity)
    _require_manager(by, activity)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if activity.status not in (Status.DRAFT, Status.PUBLISHED):
        raise DomainError("invalid_transition", _("已结束或已取消的活动不能修改"))
    before = (activity.starts_at, activity.ends_at, activity.place)
    for name, value in changes.items():
        setattr(activity, name, value)
    validate_activity(activity)
    activity.save()
    if activity.status == Status.PUBLISHED:
        _promote_waitlist(activity)
        if (activity.starts_at, activity.ends_at, activity.place) != before:
            _notify(
                audience=Audience.activity(activity),
                title=_("活动变更: %(title)s") % {"title": activity.title},
                body=_("时间: %(start)s 至 %(end)s\n地点: %(place)s")
                % {"start": _local(activity.starts_at), "end": _local(activity.ends_at), "place": activity.place},
            )
            emit(event="activity.updated", data=activity_event(activity), audience=Audience.activity(activity))
    return activity


@transaction.atomic
def publish_activity(*, activity: Activity, by: User, now: datetime | None = None) -> Activity:
    now = now or timezone.now()
    activity = _lock(activity)
    _require_manager(by, activity)
    if activity.status != Status.DRAFT:
        raise DomainError("invalid_transition", _("只有草稿可以发布"))
    if activity.ends_at <= now:
        raise DomainError("invalid_transition", _("活动已过结束时间, 不能发布"))
    activity.status = Status.PUBLISHED
    activity.published_at = now
    activity.save(update_fields=["status", "published_at", "updated_at"])
    audience = selectors.announcement_audience(activity)
    _notify(
        audience=audience,
        title=_("新活动: %(title)s") % {"title": activity.title},
        body=_("时间: %(start)s 至 %(end)s\n地点: %(place)s\n%(description)s")
        % {
            "start": _local(activity.starts_at),
            "end": _local(activity.ends_at),
            "place": activity.place,
            "description": activity.description,
        },
    )
    emit(event="activity.published", data=activity_event(activity), audience=audience)
    return activity


@transaction.atomic
def cancel_activity(*, activity: Activity, by: User, reason: str, now: datetime | None = None) -> Activity:
    now = now or timezone.now()
    activity = _lock(activity)
    _require_manager(by, activity)
    if _blank(reason):
        raise field_error("reason", _("请填写取消原因"))
    if activity.status not in (Status.DRAFT, Status.PUBLISHED):
        raise DomainError("invalid_transition", _("已结束或已取消的活动不能取消"))
    was_published = activity.status == Status.PUBLISHED
    activity.status = Status.CANCELLED
    activity.cancelled_at = now
    activity.cancel_reason = reason.strip()[:500]
    activity.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    if was_published:
        # Everyone who heard of it, and everyone who signed up (they may be outside the audience now).
        told = notice_selectors.audience_user_ids(selectors.announcement_audience(activity))
        audience = Audience.users(sorted(told | selectors.signed_up_user_ids([activity.pk])))
        _notify(
            audience=audience,
            title=_("活动取消: %(title)s") % {"title": activity.title},
            body=_("原定 %(start)s 在 %(place)s 举行的活动已取消。原因: %(reason)s")
            % {"start": _local(activity.starts_at), "place": activity.place, "reason": activity.cancel_reason},
        )
        emit(
            event="activity.cancelled",
            data={**activity_event(activity), "reason": activity.cancel_reason},
            audience=audience,
        )
    return activity


@transaction.atomic
def finish_activity(*, activity: Activity, now: datetime | None = None) -> bool:
    """Published → finished once check-out has closed. False when there was nothing to do."""
    now = now or timezone.now()
    activity = _lock(activity)
    if activity.status != Status.PUBLISHED or now < activity.checkout_closes_at():
        return False
    activity.status = Status.FINISHED
    activity.finished_at = now
    activity.save(update_fields=["status", "finished_at", "updated_at"])
    return True


def finish_due_activities(*, now: datetime | None = None) -> int:
    """The scheduler's job: finish what is over and sweep its points (safe to run twice)."""
    now = now or timezone.now()
    # Check-out windows differ per activity: every activity past its end is a candidate.
    due = Activity.objects.filter(status=Status.PUBLISHED, ends_at__lte=now)
    finished = 0
    for activity in due.order_by("ends_at"):
        if activity.checkout_closes_at() > now:
            continue
        if finish_activity(activity=activity, now=now):
            finished += 1
            _sweep_points(activity)
    return finished


# Enrolment --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentResult:
    enrollment: Enrollment
    created: bool
    position: int | None


@transaction.atomic
def enroll(*, activity: Activity, user: User, now: datetime | None = None) -> EnrollmentResult:
    """Sign up, or join the waiting list when full. Enrolling again answers with the sign-up there is."""
    now = now or timezone.now()
    activity = _lock(activity)
    existing = selectors.active_enrollment(activity, user)
    if existing is not None:
        return EnrollmentResult(existing, False, selectors.waitlist_position(existing))
    if not activity.is_open_for_enrollment(now=now):
        raise DomainError("enrollment_closed", _("报名已截止"))
    if not selectors.in_audience(activity, user):
        raise DomainError("not_in_audience", _("该活动不面向您"))
    full = activity.capacity is not None and selectors.enrolled_count(activity) >= activity.capacity
    enrollment = Enrollment.objects.create(
        activity=activity,
        user=user,
        status=Enrollment.Status.WAITLISTED if full else Enrollment.Status.ENROLLED,
        created_at=now,
    )
    position = selectors.waitlist_position(enrollment)
    emit(
        event="enrollment.created",
        data={"activity_id": activity.pk, "status": enrollment.status, "position": position},
        audience=Audience.user(user),
    )
    _announce_attendance(activity.pk)
    return EnrollmentResult(enrollment, True, position)


@transaction.atomic
def withdraw(*, activity: Activity, user: User, now: datetime | None = None) -> Enrollment:
    """Give up a place (or a place in line) before the start; the first in line moves up."""
    now = now or timezone.now()
    activity = _lock(activity)
    enrollment = selectors.active_enrollment(activity, user)
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


# Check-in codes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinCode:
    token: str
    url: str
    issued_at: datetime
    refresh_at: datetime  # when the next code appears
    expires_at: datetime  # when this one stops being accepted
    period_seconds: int
    qr_png: str  # a data: URI, shown as-is by <img> and the mini-program's <image>


def _period() -> int:
    return max(1, int(settings.CHECKIN_CODE_PERIOD_SECONDS))


def _slot(now: datetime) -> int:
    return int(now.timestamp() // _period())


def _signer() -> signing.Signer:
    # "." keeps the token URL-safe: the rest is digits and base64url.
    return signing.Signer(salt=TOKEN_SALT, sep=".", algorithm="sha256")


def checkin_token(activity_id: int, slot: int) -> str:
    return _signer().sign(f"{activity_id}.{slot}")


def _moment(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * _period(), tz=timezone.get_current_timezone())


def issue_checkin_code(*, activity: Activity, by: User, now: datetime | None = None) -> CheckinCode:
    """The code the venue's screen shows now: it changes every period and is accepted for two."""
    _require_manager(by, activity)
    if activity.status != Status.PUBLISHED:
        raise DomainError("not_open", _("活动未发布或已结束, 不能签到"))
    now = now or timezone.now()
    slot = _slot(now)
    token = checkin_token(activity.pk, slot)
    url = f"{settings.CHECKIN_QR_URL_PREFIX}{token}"
    qr = segno.make(url, error="m")
    return CheckinCode(
        token=token,
        url=url,
        issued_at=now,
        refresh_at=_moment(slot + 1),
        expires_at=_moment(slot + 2),
        period_seconds=_period(),
        qr_png=qr.png_data_uri(scale=8, border=2),
    )


def _token_from(text: str) -> str:
    """The token itself, also when the client sends the whole scanned URL."""
    text = (text or "").strip()
    if "/" in text:
        text = text.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return text


def verify_token(*, activity: Activity, token: str, now: datetime) -> None:
    try:
        value = _signer().unsign(_token_from(token))
        activity_text, slot_text = value.split(".")
        activity_id, slot = int(activity_text), int(slot_text)
    except (signing.BadSignature, ValueError):
        raise DomainError("invalid_token", _("签到码无效, 请重新扫码")) from None
    current = _slot(now)
    if activity_id != activity.pk or slot not in (current, current - 1):
        raise DomainError("invalid_token", _("签到码已过期, 请扫描现场最新的二维码"))


# Check-in and check-out -------------------------------------------------------------------------


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
    recorded it and why, and is never edited: it is its own audit trail."""
    _require_manager(by, activity)
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
    if row.kind == CheckIn.Kind.IN and activity.points > 0:
        activity_id, user_id = activity.pk, row.user_id

        def award() -> None:
            # The module, not the task's name: the task is called as this module's service is.
            # tasks imports services, so it is imported here, when the commit has happened.
            from . import tasks

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


def _announce_attendance(activity_id: int) -> None:
    """`attendance.changed` to the staff watching, once the change has committed (see live.py)."""
    # robust: the write has committed; a failure here must not turn its answer into an error.
    transaction.on_commit(lambda: live.attendance_changed(activity_id), robust=True)


# Points -----------------------------------------------------------------------------------------


def award_attendance_points(*, activity_id: int, user_id: int) -> bool:
    """The activity's points for a party member who attended, once (the ledger refuses a second).

    The members ledger applies the category's rule: its value in the community's street and its
    yearly cap. Non-members and categories without a rule get nothing.
    """
    activity = Activity.objects.select_related("community").filter(pk=activity_id).first()
    if activity is None or activity.points <= 0:
        return False
    if not CheckIn.objects.filter(activity=activity, user_id=user_id, kind=CheckIn.Kind.IN).exists():
        return False
    user = User.objects.get(pk=user_id)
    entry = member_services.award_points(
        user=user,
        rule_code=activity.category,
        source=f"activity:{activity.pk}",
        year=timezone.localtime(activity.starts_at).year,
        community=activity.community,
    )
    return entry is not None


def _sweep_points(activity: Activity) -> None:
    if activity.points <= 0:
        return
    for user_id in CheckIn.objects.filter(activity=activity, kind=CheckIn.Kind.IN).values_list("user_id", flat=True):
        try:
            award_attendance_points(activity_id=activity.pk, user_id=user_id)
        except Exception:
            logger.exception("points for activity %s user %s failed", activity.pk, user_id)


# Leave --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveResult:
    leave: LeaveRequest
    created: bool


def require_leave_audience(activity: Activity, user: User) -> None:
    """Only someone the meeting is for may ask to be excused (the view asks before reading the body)."""
    if user.pk not in selectors.expected_user_ids(activity) and not selectors.in_audience(activity, user):
        raise DomainError("not_in_audience", _("该活动不面向您"))


@transaction.atomic
def request_leave(*, activity: Activity, user: User, reason: str, now: datetime | None = None) -> LeaveResult:
    """请假 before a branch meeting starts; asking again answers with the request there is."""
    now = now or timezone.now()
    if not activity.is_meeting:
        raise field_error("activity", _("只有三会一课和党课可以请假"))
    # The audience comes before a retry's answer: a request filed while a member gives no one who
    # has since stopped being one an answer about the meeting.
    require_leave_audience(activity, user)
    existing = LeaveRequest.objects.filter(
        activity=activity, user=user, status__in=LeaveRequest.ACTIVE_STATUSES
    ).first()
    if existing is not None:
        return LeaveResult(existing, False)
    if _blank(reason):
        raise field_error("reason", _("请填写请假事由"))
    if activity.status != Status.PUBLISHED or now >= activity.starts_at:
        raise DomainError("not_open", _("请假须在活动开始前提出"))
    try:
        with transaction.atomic():
            leave = LeaveRequest.objects.create(activity=activity, user=user, reason=reason.strip()[:500])
    except IntegrityError:
        return LeaveResult(
            LeaveRequest.objects.get(activity=activity, user=user, status__in=LeaveRequest.ACTIVE_STATUSES), False
        )
    emit(
        event="leave.requested",
        data={"id": leave.pk, "activity_id": activity.pk, "user_id": user.pk},
        audience=Audience.user(user),
    )
    return LeaveResult(leave, True)


def require_leave_decider(user: User, leave: LeaveRequest) -> None:
    """Staff of the meeting's community decide a leave request (the view asks before reading the body)."""
    _require_manager(user, leave.activity)


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
def end_leave_of_former_member(*, user_id: int, actor: User, now: datetime | None = None) -> int:
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
        leave.decided_by = actor
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


# Minutes and photos ---------------------------------------------------------------------------


@transaction.atomic
def record_minutes(
    *,
    activity: Activity,
    by: User,
    topics: str,
    decisions: str = "",
    content: str = "",
    attachments: Sequence[int] | None = None,
) -> Minutes:
    """会议记录: written once and revised by staff. Attachments are the writer's own uploads or ones
    already attached (a colleague revising keeps the files someone else added)."""
    activity = _lock(activity)
    _require_manager(by, activity)
    if not activity.is_meeting:
        raise field_error("activity", _("只有三会一课和党课需要会议记录"))
    if activity.status not in (Status.PUBLISHED, Status.FINISHED):
        raise DomainError("invalid_transition", _("只有已发布或已结束的活动可以记录会议记录"))
    if _blank(topics):
        raise field_error("topics", _("请填写议题"))
    minutes = Minutes.objects.filter(activity=activity).first()
    upload_ids: list[int] | None = None
    if attachments is not None:
        upload_ids = list(dict.fromkeys(int(pk) for pk in attachments))
        if len(upload_ids) > MAX_MINUTES_ATTACHMENTS:
            raise field_error("attachments", _("附件最多 %(n)d 个") % {"n": MAX_MINUTES_ATTACHMENTS})
        allowed = set(uploads_owned_by(by, upload_ids).values_list("pk", flat=True))
        if minutes is not None:
            allowed |= set(minutes.attachments.filter(pk__in=upload_ids).values_list("pk", flat=True))
        for pk in upload_ids:
            if pk not in allowed:
                raise field_error("attachments", _("上传文件 %(pk)s 不存在") % {"pk": pk})
    if minutes is None:
        minutes = Minutes.objects.create(
            activity=activity,
            topics=topics.strip(),
            decisions=(decisions or "").strip(),
            content=(content or "").strip(),
            recorded_by=by,
            updated_by=by,
        )
    else:
        minutes.topics = topics.strip()
        minutes.decisions = (decisions or "").strip()
        minutes.content = (content or "").strip()
        minutes.updated_by = by
        minutes.save()
    if upload_ids is not None:
        minutes.attachments.set(upload_ids)
    return minutes


@transaction.atomic
def attach_photos(*, activity: Activity, by: User, uploads: Sequence[Upload]) -> list[ActivityPhoto]:
    """Staff and participants add their own pictures; adding one again changes nothing."""
    activity = _lock(activity)
    if not (selectors.may_manage(by, activity) or selectors.is_participant(activity, by)):
        raise DomainError("permission_denied", _("只有工作人员和参加者可以上传活动照片"))
    if activity.status not in (Status.PUBLISHED, Status.FINISHED):
        raise DomainError("invalid_transition", _("只有已发布或已结束的活动可以上传照片"))
    if not uploads:
        raise field_error("uploads", _("请选择照片"))
    if len(uploads) > MAX_PHOTOS_PER_REQUEST:
        raise field_error("uploads", _("一次最多 %(n)d 张") % {"n": MAX_PHOTOS_PER_REQUEST})
    for upload in uploads:
        if upload.owner_id != by.pk or upload.kind != Upload.Kind.IMAGE:
            raise field_error("uploads", _("上传文件 %(pk)s 不是您上传的图片") % {"pk": upload.pk})
    already = set(ActivityPhoto.objects.filter(activity=activity).values_list("upload_id", flat=True))
    new = [upload for upload in uploads if upload.pk not in already]
    if len(already) + len(new) > MAX_PHOTOS_PER_ACTIVITY:
        raise field_error("uploads", _("每个活动最多 %(n)d 张照片") % {"n": MAX_PHOTOS_PER_ACTIVITY})
    photos = ActivityPhoto.objects.bulk_create(
        [ActivityPhoto(activity=activity, upload=upload, added_by=by) for upload in new]
    )
    # Each picture is shown to the other participants once WeChat has passed it.
    for photo in photos:
        moderation.submit(
            photo, author=by, community_id=activity.community_id, images=[photo.upload], scene=moderation.SCENE_SOCIAL
        )
    return photos


# Personal data (accounts.registry) ------------------------------------------------------------


def erase_personal_data(user: User, *, now: datetime) -> None:
    """Account deletion: places held in activities not yet started go to the next in line, and the
    reasons given for leave (often about health or family) are erased. Attendance stays as recorded."""
    upcoming = Enrollment.objects.filter(
        user=user,
        status__in=Enrollment.ACTIVE_STATUSES,
        activity__status=Status.PUBLISHED,
        activity__starts_at__gt=now,
    ).select_related("activity")
    for enrollment in upcoming:
        withdraw(activity=enrollment.activity, user=user, now=now)
    LeaveRequest.objects.filter(user=user).exclude(reason="").update(reason="")
