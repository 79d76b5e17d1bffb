"""An activity's lifecycle: created and changed by staff, published, cancelled, finished by the
scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import get_scope
from backend.brands.models import Brand
from backend.communities.models import Community, PartyOrganization, Place
from backend.core import geo
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit
from backend.members import selectors as member_selectors
from backend.notices import selectors as notice_selectors

from .. import selectors
from ..models import Activity
from ._shared import Status, _blank, _local, _lock, _notify, _require_manager, activity_event
from .enrollment import _promote_waitlist
from .points import _sweep_points

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


def require_may_create(*, by: User) -> None:
    """Only staff create activities (in which community is create_activity's own check); the API
    asks before it reads the form, so that a resident hears 403 rather than what the form lacks."""
    if not get_scope(by).is_staff:
        raise DomainError("permission_denied", _("需要社区工作人员权限"))


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
