"""Service records as filed: by hand (pending review), from a check-out, and the sweep for missed ones."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.activities.models import Activity, CheckIn
from backend.activities.registry import AttendedSpan
from backend.communities.models import Community
from backend.core import idempotency
from backend.core.errors import DomainError, field_error
from backend.core.models import Upload

from .. import selectors
from ..models import ServiceRecord, Volunteer, hours_between
from ._common import Source, Status, _blank
from .registration import register_volunteer

logger = logging.getLogger(__name__)

# Phone clocks drift: an end a few minutes ahead of the server's clock is not "in the future".
CLOCK_TOLERANCE = timedelta(minutes=5)
# Bounds no real record comes near: a typo or garbage, refused before the hours are computed.
EARLIEST_YEAR = 2000
MAX_RECORD_SPAN = timedelta(days=31)


def _check_times(started_at: datetime, ended_at: datetime, *, now: datetime) -> None:
    if ended_at <= started_at:
        raise field_error("ended_at", _("结束时间应晚于开始时间"))
    if ended_at > now + CLOCK_TOLERANCE:
        raise field_error("ended_at", _("不能登记尚未发生的服务时间"))
    # Centuries-long spans overflowed the hours column (a 500 after the row was written); before 1901
    # Asia/Shanghai is local mean time, which the API cannot write back as ISO 8601.
    if started_at.year < EARLIEST_YEAR:
        raise field_error("started_at", _("开始时间不能早于 %(year)d 年") % {"year": EARLIEST_YEAR})
    if ended_at - started_at > MAX_RECORD_SPAN:
        raise field_error("ended_at", _("一条服务记录不能超过 %(days)d 天") % {"days": MAX_RECORD_SPAN.days})


def _overlapping(
    volunteer_id: int, started_at: datetime, ended_at: datetime, *, exclude_pk: int | None = None
) -> QuerySet[ServiceRecord]:
    """The volunteer's records (not rejected) sharing any moment with [started_at, ended_at)."""
    qs = ServiceRecord.objects.filter(
        volunteer_id=volunteer_id, started_at__lt=ended_at, ended_at__gt=started_at
    ).exclude(status=Status.REJECTED)
    return qs.exclude(pk=exclude_pk) if exclude_pk is not None else qs


def _refresh_overlap_flags(record_ids: Iterable[int]) -> None:
    """After a record moved or left the count, its former neighbours may no longer overlap anything."""
    for record in ServiceRecord.objects.filter(pk__in=list(record_ids)).exclude(status=Status.REJECTED):
        overlaps = _overlapping(record.volunteer_id, record.started_at, record.ended_at, exclude_pk=record.pk).exists()
        if overlaps != record.overlap_flag:
            ServiceRecord.objects.filter(pk=record.pk).update(overlap_flag=overlaps)


def _over_cap(hours: Decimal) -> bool:
    return hours > selectors.record_cap_hours()


def _record_event(record: ServiceRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "status": record.status,
        "hours": str(record.hours),
        "community": record.community_id,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat(),
        "reason": record.reject_reason,
    }


def require_volunteer(*, by: User) -> None:
    """Only a registered volunteer files records: the API asks this before reading the request."""
    if not Volunteer.objects.filter(user=by).exists():
        raise DomainError("permission_denied", _("请先注册为志愿者"))


def _check_activity(activity: Activity, *, community: Community, started_at: datetime, ended_at: datetime) -> None:
    """A record naming an activity is hours at that activity: the organiser's, and within its
    check-in and check-out windows, as a check-in there would be."""
    if activity.community_id != community.pk:
        raise field_error("activity", _("该活动不是所选社区组织的"))
    if not (activity.checkin_opens_at() <= started_at and ended_at <= activity.checkout_closes_at()):
        raise field_error("started_at", _("服务时间须在所选活动的签到、签退时段内"))


@transaction.atomic
def file_record(
    *,
    by: User,
    community: Community,
    content: str,
    started_at: datetime,
    ended_at: datetime,
    client_id: uuid.UUID,
    place: str = "",
    activity: Activity | None = None,
    evidence: Upload | None = None,
    now: datetime | None = None,
) -> tuple[ServiceRecord, bool]:
    """A volunteer's record filed by hand (pending until the organiser's staff decide).

    Idempotent on `client_id`: a retry answers with the first record (created False).
    """
    now = now or timezone.now()
    # The volunteer's row queues their filings, so two overlapping ones cannot both pass the check.
    volunteer = Volunteer.objects.select_for_update().filter(user=by).first()
    if volunteer is None:
        raise DomainError("permission_denied", _("请先注册为志愿者"))
    existing = idempotency.replay(ServiceRecord.objects, volunteer=volunteer, client_id=client_id)
    if existing is not None:
        return existing, False
    if _blank(content):
        raise field_error("content", _("请填写服务内容"))
    _check_times(started_at, ended_at, now=now)
    if activity is not None:
        _check_activity(activity, community=community, started_at=started_at, ended_at=ended_at)
    if evidence is not None and evidence.owner_id != by.pk:
        raise field_error("evidence", _("佐证材料不存在"))
    if _overlapping(volunteer.pk, started_at, ended_at).exists():
        raise DomainError("overlapping_record", _("与您已有的服务记录时间重叠"))
    hours = hours_between(started_at, ended_at)
    return idempotency.insert_once(
        lambda: ServiceRecord.objects.create(
            volunteer=volunteer,
            community=community,
            activity=activity,
            content=content.strip(),
            place=(place or "").strip(),
            reported_started_at=started_at,
            reported_ended_at=ended_at,
            started_at=started_at,
            ended_at=ended_at,
            hours=hours,
            source=Source.MANUAL,
            over_cap_flag=_over_cap(hours),
            client_id=client_id,
            evidence=evidence,
        ),
        ServiceRecord.objects,
        volunteer=volunteer,
        client_id=client_id,
    )


@transaction.atomic
def record_from_checkout(*, span: AttendedSpan) -> ServiceRecord:
    """A check-out of a `counts_as_service` activity: a pending record, never refused.

    The participant becomes a volunteer of the activity's community if they were not one. An
    overlap with another record flags both for review instead of refusing; running twice for the
    same check-out answers with the first record.
    """
    user = User.objects.get(pk=span.user_id)
    activity = Activity.objects.select_related("community").get(pk=span.activity_id)
    volunteer, _created = register_volunteer(
        by=user, community=activity.community, via=Volunteer.RegisteredVia.CHECKOUT
    )
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    existing = ServiceRecord.objects.filter(volunteer=volunteer, activity=activity, source=Source.CHECKOUT).first()
    if existing is not None:
        return existing
    started_at, ended_at = span.started_at, max(span.ended_at, span.started_at)
    hours = hours_between(started_at, ended_at)
    neighbours = list(_overlapping(volunteer.pk, started_at, ended_at).values_list("pk", flat=True))
    record = ServiceRecord.objects.create(
        volunteer=volunteer,
        community_id=span.community_id,
        activity=activity,
        content=(span.title or activity.title)[:500],
        place=(span.place or "")[:200],
        reported_started_at=started_at,
        reported_ended_at=ended_at,
        started_at=started_at,
        ended_at=ended_at,
        hours=hours,
        source=Source.CHECKOUT,
        overlap_flag=bool(neighbours),
        over_cap_flag=_over_cap(hours),
    )
    if neighbours:
        ServiceRecord.objects.filter(pk__in=neighbours).update(overlap_flag=True)
    return record


def on_checkout(*, span: AttendedSpan) -> None:
    """The listener activities calls after a check-out commits: the record is made, nothing answered."""
    record_from_checkout(span=span)


def sweep_missed_checkouts(*, since: datetime | None = None) -> int:
    """Records for check-outs whose listener never ran (a crash between commit and listener).

    Safe to run any number of times: `record_from_checkout` answers a second call with the first record.
    """
    since = since or timezone.now() - timedelta(days=7)
    has_record = ServiceRecord.objects.filter(
        source=Source.CHECKOUT, activity_id=OuterRef("activity_id"), volunteer__user_id=OuterRef("user_id")
    )
    missed = (
        CheckIn.objects.filter(kind=CheckIn.Kind.OUT, at__gte=since, activity__counts_as_service=True)
        .exclude(Exists(has_record))
        .select_related("activity")
        .order_by("id")
    )
    made = 0
    for check_out in missed:
        check_in = CheckIn.objects.filter(
            activity_id=check_out.activity_id, user_id=check_out.user_id, kind=CheckIn.Kind.IN
        ).first()
        if check_in is None:
            continue
        activity = check_out.activity
        record_from_checkout(
            span=AttendedSpan(
                activity_id=activity.pk,
                community_id=activity.community_id,
                user_id=check_out.user_id,
                title=activity.title,
                place=activity.place,
                started_at=check_in.at,
                ended_at=check_out.at,
                check_in_id=check_in.pk,
                check_out_id=check_out.pk,
            )
        )
        made += 1
    return made


# The check ---------------------------------------------------------------------------------------


def check_effective_hours() -> int:
    """Compare every record's stored effective values with its ledger; log and count mismatches."""
    count = 0
    for mismatch in selectors.effective_value_mismatches():
        count += 1
        logger.error(
            "service record %s: stored %s, ledger says %s", mismatch.record_id, mismatch.stored, mismatch.expected
        )
    return count
