"""Volunteers' writes: registration, service records and their review, corrections, certificates.

Every function runs in a transaction, locks the rows whose state it decides on, and raises a
DomainError with a code from API.md. Events leave with `emit()` after commit. Locks are taken in
one order (volunteer, then record) so that two writes for the same person never deadlock.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.activities.models import Activity, CheckIn
from backend.activities.registry import AttendedSpan
from backend.communities.models import Community
from backend.core import crypto, idcard, idempotency
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit
from backend.core.models import Upload
from backend.members import services as member_services

from . import selectors
from .models import Certificate, IdType, RecordCorrection, ServiceRecord, Volunteer, hours_between

logger = logging.getLogger(__name__)

Status = ServiceRecord.Status
Source = ServiceRecord.Source

POINTS_RULE = "volunteer_hour"
# Phone clocks drift: an end a few minutes ahead of the server's clock is not "in the future".
CLOCK_TOLERANCE = timedelta(minutes=5)
# Bounds no real record comes near: a typo or garbage, refused before the hours are computed.
EARLIEST_YEAR = 2000
MAX_RECORD_SPAN = timedelta(days=31)
# Crockford's base32: no I, L, O or U to misread when a number is typed from paper.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_PREFIX = "ZY"
NUMBER_LENGTH = 16  # 80 random bits: not guessable, not enumerable through the verify endpoint
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9]{5,30}$", re.ASCII)


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _require_staff_of(user: User | None, community_id: int) -> None:
    if not can_act_on_community(user, community_id):
        raise DomainError("permission_denied", _("需要组织社区工作人员权限"))


def require_issuer(user: User) -> None:
    """Only staff issue certificates (the view asks this much before reading the body; the
    community the body names is checked by issue_certificate)."""
    if not get_scope(user).is_staff:
        raise DomainError("permission_denied", _("需要组织社区工作人员权限"))


def _require_not_own(record: ServiceRecord, by: User) -> None:
    # Whoever records certifies: nobody certifies their own hours.
    if record.volunteer.user_id == by.pk:
        raise DomainError("permission_denied", _("不能审核或更正本人的服务记录"))


# Registration ------------------------------------------------------------------------------------


def privacy_notice_version() -> str:
    return str(settings.PRIVACY_NOTICE_VERSION)


def _require_consent(*, consent: bool, version: str | None) -> None:
    if consent is not True:
        raise DomainError("consent_required", _("登记证件信息前请先阅读并同意隐私政策"))
    if version and version != privacy_notice_version():
        raise DomainError("consent_required", _("隐私政策已更新, 请阅读并同意最新版本"))


def _validated_document(id_type: str | None, id_number: str) -> tuple[str, str]:
    id_type = id_type or IdType.RESIDENT_ID
    if id_type not in IdType.values:
        raise field_error("id_type", _("未知的证件类型"))
    if id_type == IdType.RESIDENT_ID:
        try:
            return id_type, idcard.validate(id_number)
        except idcard.InvalidIdNumber as exc:
            raise field_error("id_number", exc.reason) from exc
    number = "".join(str(id_number).split()).upper()
    if not _DOCUMENT_NUMBER.match(number):
        raise field_error("id_number", _("证件号码应为5到30位字母或数字"))
    return id_type, number


def _set_document(volunteer: Volunteer, *, id_type: str, number: str) -> None:
    taken = Volunteer.objects.filter(id_number_hash=crypto.keyed_hash(f"{id_type}:{number}"))
    if volunteer.pk is not None:
        taken = taken.exclude(pk=volunteer.pk)
    if taken.exists():
        raise DomainError("already_registered", _("该证件号码已由其他志愿者登记"))
    volunteer.set_id_number(id_type, number)
    volunteer.consent_version = privacy_notice_version()
    volunteer.consent_at = timezone.now()


def _next_volunteer_number(community: Community) -> str:
    """`V00012-000034`: the community registered in and its next sequence number (under its row lock)."""
    prefix = f"V{community.pk:05d}-"
    last = (
        Volunteer.objects.filter(volunteer_number__startswith=prefix)
        .annotate(width=Length("volunteer_number"))
        .order_by("-width", "-volunteer_number")
        .values_list("volunteer_number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


@transaction.atomic
def register_volunteer(
    *,
    user: User,
    community: Community | None = None,
    real_name: str | None = None,
    skills: str = "",
    id_type: str | None = None,
    id_number: str | None = None,
    consent: bool = False,
    consent_version: str | None = None,
    via: str = Volunteer.RegisteredVia.SELF,
) -> tuple[Volunteer, bool]:
    """Register `user` as a volunteer; a second call answers with the profile (created False)."""
    existing = Volunteer.objects.filter(user=user).first()
    if existing is not None:
        return existing, False
    community = community or user.community
    if community is None:
        raise field_error("community", _("请选择所在社区"))
    document = None
    if not _blank(id_number):
        # Nothing about a person's documents is stored before they agree to the notice.
        _require_consent(consent=consent, version=consent_version)
        document = _validated_document(id_type, id_number or "")
    elif id_type:
        raise field_error("id_number", _("请填写证件号码"))
    name = (real_name if real_name is not None else user.real_name or "").strip()

    # The community's row serialises its sequence of numbers (and a double tap of "register").
    community = Community.objects.select_for_update().get(pk=community.pk)
    existing = Volunteer.objects.filter(user=user).first()
    if existing is not None:
        return existing, False
    volunteer = Volunteer(
        user=user,
        community=community,
        volunteer_number=_next_volunteer_number(community),
        real_name=name,
        skills=(skills or "").strip(),
        registered_via=via,
    )
    if document is not None:
        _set_document(volunteer, id_type=document[0], number=document[1])
    try:
        with transaction.atomic():
            volunteer.save(force_insert=True)
    except IntegrityError as exc:
        existing = Volunteer.objects.filter(user=user).first()
        if existing is not None:
            return existing, False
        raise DomainError("already_registered", _("该证件号码已由其他志愿者登记")) from exc
    return volunteer, True


@transaction.atomic
def update_volunteer(
    *,
    volunteer: Volunteer,
    real_name: str | None = None,
    skills: str | None = None,
    community: Community | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    consent: bool = False,
    consent_version: str | None = None,
) -> Volunteer:
    """The volunteer's own changes. The volunteer number never changes, even on moving community."""
    if real_name is not None and _blank(real_name):
        raise field_error("real_name", _("姓名不能为空"))
    document = None
    if id_number is not None:
        _require_consent(consent=consent, version=consent_version)
        document = _validated_document(id_type or volunteer.id_type or None, id_number)
    elif id_type is not None and id_type != volunteer.id_type:
        raise field_error("id_number", _("更换证件类型时请同时填写证件号码"))
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    if real_name is not None:
        volunteer.real_name = real_name.strip()
    if skills is not None:
        volunteer.skills = skills.strip()
    if community is not None:
        volunteer.community = community
    if document is not None:
        _set_document(volunteer, id_type=document[0], number=document[1])
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError as exc:
        raise DomainError("already_registered", _("该证件号码已由其他志愿者登记")) from exc
    return volunteer


# Service records ---------------------------------------------------------------------------------


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


def _overlapping(volunteer_id: int, started_at: datetime, ended_at: datetime, *, exclude_pk: int | None = None):
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


@transaction.atomic
def file_record(
    *,
    user: User,
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
    volunteer = Volunteer.objects.select_for_update().filter(user=user).first()
    if volunteer is None:
        raise DomainError("permission_denied", _("请先注册为志愿者"))
    existing = idempotency.replay(ServiceRecord.objects, volunteer=volunteer, client_id=client_id)
    if existing is not None:
        return existing, False
    if _blank(content):
        raise field_error("content", _("请填写服务内容"))
    _check_times(started_at, ended_at, now=now)
    if activity is not None and activity.community_id != community.pk:
        raise field_error("activity", _("该活动不是所选社区组织的"))
    if evidence is not None and evidence.owner_id != user.pk:
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
        user=user, community=activity.community, via=Volunteer.RegisteredVia.CHECKOUT
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


# Certificates ------------------------------------------------------------------------------------


def _new_certificate_number() -> str:
    return NUMBER_PREFIX + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def normalise_certificate_number(text: str) -> str:
    """As typed from paper: spaces and hyphens dropped, letters upper-case."""
    return re.sub(r"[\s\-]", "", text or "").upper()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _summary(contents: list[str], limit: int = 200) -> str:
    distinct = list(dict.fromkeys(text.strip() for text in contents if text.strip()))
    text = "、".join(distinct)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _secretary_name(community_id: int) -> str:
    grant = (
        RoleGrant.objects.filter(community_id=community_id, role=Role.COMMUNITY_SECRETARY, revoked_at__isnull=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return grant.user.real_name if grant is not None else ""


@transaction.atomic
def issue_certificate(
    *,
    volunteer: Volunteer,
    community: Community,
    by: User,
    period_start: date,
    period_end: date,
    service_summary: str = "",
    person_in_charge: str | None = None,
    handling_officer: str | None = None,
    contact: str | None = None,
    client_id: uuid.UUID | None = None,
    today: date | None = None,
) -> tuple[Certificate, bool]:
    """志愿服务证明 from the community's approved hours of the period, as a snapshot.

    Idempotent on `client_id` (per issuer). A standing certificate for the same volunteer,
    community and period must be revoked before another is issued.
    """
    _require_staff_of(by, community.pk)
    today = today or timezone.localdate()
    if period_end < period_start:
        raise field_error("period_end", _("结束日期不能早于开始日期"))
    if period_end > today:
        raise field_error("period_end", _("服务期间不能晚于今天"))
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    existing = idempotency.replay(Certificate.objects, issued_by=by, client_id=client_id)
    if existing is not None:
        return existing, False
    if _blank(volunteer.real_name) or not volunteer.has_id_number:
        raise field_error("volunteer", _("该志愿者尚未登记姓名和证件号码, 不能出具证明"))
    standing = Certificate.objects.filter(
        volunteer=volunteer,
        community=community,
        period_start=period_start,
        period_end=period_end,
        revoked_at__isnull=True,
    )
    if standing.exists():
        raise DomainError("conflict", _("该期间已出具证明; 如需重新出具, 请先作废原证明"))
    records = list(
        ServiceRecord.objects.filter(
            volunteer=volunteer,
            community=community,
            status=Status.APPROVED,
            started_at__gte=_day_start(period_start),
            started_at__lt=_day_start(period_end + timedelta(days=1)),
        )
        .order_by("started_at", "id")
        .values("pk", "content", "started_at", "ended_at", "hours")
    )
    if not records:
        raise field_error("period_start", _("该期间内没有审核通过的服务时长"))
    hours = sum((row["hours"] for row in records), Decimal("0.00"))
    community = Community.objects.select_related("street").get(pk=community.pk)
    values = {
        "volunteer": volunteer,
        "community": community,
        "period_start": period_start,
        "period_end": period_end,
        "hours": hours,
        "record_count": len(records),
        "records_snapshot": [
            {
                "id": row["pk"],
                "content": row["content"],
                "started_at": row["started_at"].isoformat(),
                "ended_at": row["ended_at"].isoformat(),
                "hours": str(row["hours"]),
            }
            for row in records
        ],
        "volunteer_name": volunteer.real_name,
        "volunteer_number": volunteer.volunteer_number,
        "id_type": volunteer.id_type,
        "id_number_masked": volunteer.id_number_masked,
        "service_summary": (service_summary or "").strip()[:500] or _summary([row["content"] for row in records]),
        "issuer_name": f"{community.street.name}{community.name}",
        "person_in_charge": (
            person_in_charge.strip() if person_in_charge is not None else _secretary_name(community.pk)
        )[:50],
        "handling_officer": (handling_officer.strip() if handling_officer is not None else by.real_name)[:50],
        "contact": (contact.strip() if contact is not None else by.phone or "")[:50],
        "issued_by": by,
        "client_id": client_id,
    }
    for attempt in range(3):
        try:
            certificate, created = idempotency.insert_once(
                lambda: Certificate.objects.create(number=_new_certificate_number(), **values),
                Certificate.objects,
                issued_by=by,
                client_id=client_id,
            )
            break
        except IntegrityError:
            # 80 random bits make a repeated number all but impossible; never hand out a wrong one.
            if attempt == 2:
                raise
    if not created:
        return certificate, False
    emit(
        event="certificate.issued",
        data={"id": certificate.pk, "number": certificate.number, "hours": str(certificate.hours)},
        audience=Audience.user(volunteer.user_id),
    )
    return certificate, True


@transaction.atomic
def revoke_certificate(*, certificate: Certificate, by: User, reason: str) -> Certificate:
    """作废: the certificate stays on record, and the verify page says it is revoked."""
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    _require_staff_of(by, certificate.community_id)
    if _blank(reason):
        raise field_error("reason", _("请填写作废原因"))
    if certificate.revoked_at is not None:
        raise DomainError("invalid_transition", _("该证明已作废"))
    certificate.revoked_at = timezone.now()
    certificate.revoked_by = by
    certificate.revoke_reason = reason.strip()[:500]
    certificate.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    emit(
        event="certificate.revoked",
        data={"id": certificate.pk, "number": certificate.number},
        audience=Audience.user(certificate.volunteer.user_id),
    )
    return certificate


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


# Personal data (accounts.registry) ------------------------------------------------------------


def erase_personal_data(user: User, *, now: datetime) -> None:
    """Account deletion: the profile keeps its volunteer number (records and certificates point at
    it) and loses the name, skills and document. Certificates keep what they printed at issue, so a
    certificate already handed out still verifies (masked, as verification always shows it)."""
    Volunteer.objects.filter(user=user).update(
        real_name="",
        skills="",
        id_type="",
        id_number_encrypted="",
        id_number_hash=None,
        id_number_masked="",
        updated_at=now,
    )
