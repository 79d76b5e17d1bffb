"""Volunteers, teams, service records with their append-only corrections, and certificates.

The national rules (《志愿服务条例》, 民政部《志愿服务记录与证明出具办法(试行)》) ask records to be
true, accurate and complete: whoever organises a service records it, whoever records it certifies
it, and an error is corrected by the organiser without erasing what was first written. So a record
keeps the times first reported beside the effective ones, every correction is a row of its own,
and a certificate is a snapshot that later corrections never touch.

Foreign keys to users are PROTECT: accounts are anonymised in place, never deleted, so hours and
certificates keep pointing at the (pseudonymous) account.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from backend.core import crypto, idcard
from backend.core.ledger import AppendOnlyModel, append_only

USER = settings.AUTH_USER_MODEL


class IdType(models.TextChoices):
    """证件类型 as the national volunteer registration lists them."""

    RESIDENT_ID = "resident_id", "居民身份证"
    HK_MACAO_PERMIT = "hk_macao_permit", "港澳居民来往内地通行证"
    TAIWAN_PERMIT = "taiwan_permit", "台湾居民来往大陆通行证"
    PASSPORT = "passport", "护照"
    FOREIGN_PERMANENT_ID = "foreign_permanent_id", "外国人永久居留身份证"


HOURS_QUANTUM = Decimal("0.01")


def hours_between(started_at: datetime, ended_at: datetime) -> Decimal:
    """Hours from start to end, to two places (half up): what a record counts, whoever sends what."""
    seconds = Decimal(int((ended_at - started_at).total_seconds()))
    return max(Decimal("0.00"), (seconds / Decimal(3600)).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP))


def mask_document_number(id_type: str, number: str | None) -> str:
    """The one way a document number is shown: a resident ID as GB 11643 masking, others alike in spirit."""
    if not number:
        return ""
    if id_type == IdType.RESIDENT_ID:
        return idcard.mask(number)
    text = "".join(str(number).split()).upper()
    if len(text) <= 4:
        return "*" * len(text)
    return f"{text[:2]}{'*' * (len(text) - 4)}{text[-2:]}"


def mask_name(name: str | None) -> str:
    """`张*`, `欧阳**`→`欧***`: the first character only, as public lists and verifications show names."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


class Volunteer(models.Model):
    """志愿者: one per user. ID details are sensitive: stored only with a recorded consent."""

    class RegisteredVia(models.TextChoices):
        SELF = "self", "本人注册"
        CHECKOUT = "checkout", "参加志愿服务活动签退"

    user = models.OneToOneField(USER, on_delete=models.PROTECT, related_name="volunteer", verbose_name="用户")
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="volunteers", verbose_name="所在社区"
    )
    # Stable for life: derived from the community registered in and a sequence there, never recomputed.
    volunteer_number = models.CharField("志愿者编号", max_length=20, unique=True, editable=False)
    real_name = models.CharField("姓名", max_length=50, blank=True)
    skills = models.CharField("服务特长", max_length=200, blank=True)
    id_type = models.CharField("证件类型", max_length=32, choices=IdType.choices, blank=True)
    # The number itself only encrypted; the keyed hash finds duplicates; the mask is what anyone sees.
    id_number_encrypted = models.TextField("证件号码(密文)", blank=True, editable=False)
    id_number_hash = models.CharField("证件号码散列", max_length=64, null=True, blank=True, editable=False)
    id_number_masked = models.CharField("证件号码", max_length=32, blank=True, editable=False)
    consent_version = models.CharField("隐私政策版本", max_length=32, blank=True, editable=False)
    consent_at = models.DateTimeField("同意时间", null=True, blank=True, editable=False)
    registered_via = models.CharField(
        "注册方式", max_length=16, choices=RegisteredVia.choices, default=RegisteredVia.SELF, editable=False
    )
    registered_on = models.DateField("注册日期", default=timezone.localdate, editable=False)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "志愿者"
        verbose_name_plural = "志愿者"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_hash"], name="volunteer_unique_id_number"),
            models.CheckConstraint(
                condition=Q(id_number_hash__isnull=True) | Q(consent_at__isnull=False) & ~Q(consent_version=""),
                name="volunteer_id_number_has_consent",
            ),
            models.CheckConstraint(
                condition=Q(id_number_hash__isnull=True) | ~Q(id_type=""), name="volunteer_id_number_has_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.real_name or self.user} ({self.volunteer_number})"

    @property
    def has_id_number(self) -> bool:
        return bool(self.id_number_hash)

    def set_id_number(self, id_type: str, number: str) -> None:
        """Encrypt, hash and mask a document number already validated for its type."""
        self.id_type = id_type
        self.id_number_encrypted = crypto.encrypt(number)
        self.id_number_hash = crypto.keyed_hash(f"{id_type}:{number}")
        self.id_number_masked = mask_document_number(id_type, number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.real_name)


class VolunteerTeam(models.Model):
    """志愿服务队: a community's team of volunteers with a leader."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="volunteer_teams", verbose_name="社区"
    )
    name = models.CharField("队名", max_length=100)
    description = models.CharField("简介", max_length=500, blank=True)
    leader = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, null=True, blank=True, related_name="led_teams", verbose_name="队长"
    )
    members = models.ManyToManyField(Volunteer, blank=True, related_name="teams", verbose_name="队员")
    created_at = models.DateTimeField("成立时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "志愿服务队"
        verbose_name_plural = "志愿服务队"
        ordering = ["community_id", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="volunteerteam_unique_name")]

    def __str__(self) -> str:
        return self.name


class ServiceRecord(models.Model):
    """志愿服务记录: one period of service, organised (and so approved) by one community.

    `started_at`, `ended_at` and `hours` are the effective values: the latest correction's, else the
    reported ones, which stay in `reported_*` forever. Hours are computed on the server.
    """

    class Source(models.TextChoices):
        CHECKOUT = "checkout", "活动签退"
        MANUAL = "manual", "本人补录"

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已通过"
        REJECTED = "rejected", "已驳回"

    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="records", verbose_name="志愿者")
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="service_records", verbose_name="组织社区"
    )
    activity = models.ForeignKey(
        "activities.Activity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_records",
        verbose_name="活动",
    )
    content = models.CharField("服务内容", max_length=500)
    place = models.CharField("服务地点", max_length=200, blank=True)
    reported_started_at = models.DateTimeField("原始开始时间", editable=False)
    reported_ended_at = models.DateTimeField("原始结束时间", editable=False)
    started_at = models.DateTimeField("开始时间", editable=False)
    ended_at = models.DateTimeField("结束时间", editable=False)
    hours = models.DecimalField("服务时长(小时)", max_digits=6, decimal_places=2, editable=False)
    source = models.CharField("来源", max_length=16, choices=Source.choices, editable=False)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING, editable=False)
    overlap_flag = models.BooleanField(
        "时段重叠待复核", default=False, editable=False, help_text="与本人另一条记录的时段重叠"
    )
    over_cap_flag = models.BooleanField(
        "超时长待复核", default=False, editable=False, help_text="单条时长超过上限, 须人工复核"
    )
    client_id = models.UUIDField("客户端请求号", null=True, blank=True, editable=False)
    evidence = models.ForeignKey(
        "core.Upload", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="佐证材料"
    )
    created_at = models.DateTimeField("记录时间", default=timezone.now, editable=False)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="审核人"
    )
    approved_at = models.DateTimeField("审核通过时间", null=True, blank=True, editable=False)
    rejected_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="驳回人"
    )
    rejected_at = models.DateTimeField("驳回时间", null=True, blank=True, editable=False)
    reject_reason = models.CharField("驳回原因", max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = "志愿服务记录"
        verbose_name_plural = "志愿服务记录"
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ended_at__gte=F("started_at")), name="record_ends_after_start"),
            models.CheckConstraint(
                condition=Q(reported_ended_at__gte=F("reported_started_at")), name="record_reported_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(hours__gte=Decimal("0")), name="record_hours_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_at__isnull=False, approved_by__isnull=False),
                name="record_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | Q(rejected_at__isnull=False) & ~Q(reject_reason=""),
                name="record_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(source="checkout") | Q(activity__isnull=False), name="record_checkout_has_activity"
            ),
            models.UniqueConstraint(
                fields=["volunteer", "client_id"], condition=Q(client_id__isnull=False), name="record_client_id_once"
            ),
            # One check-out per person and activity, so one record from it: the listener may run twice.
            models.UniqueConstraint(
                fields=["volunteer", "activity"], condition=Q(source="checkout"), name="record_one_per_checkout"
            ),
        ]
        indexes = [
            # Leaderboards and the 台账: a community's approved hours in a period, read from the index alone.
            models.Index(
                fields=["community", "started_at"],
                include=["volunteer", "hours"],
                condition=Q(status="approved"),
                name="record_community_approved",
            ),
            # A volunteer's total, star level and rank.
            models.Index(
                fields=["volunteer", "started_at"],
                include=["hours"],
                condition=Q(status="approved"),
                name="record_volunteer_approved",
            ),
            # Overlap checks and the volunteer's own list.
            models.Index(fields=["volunteer", "started_at", "ended_at"], name="record_volunteer_times"),
            models.Index(fields=["community", "status", "started_at"], name="record_community_status"),
        ]

    def __str__(self) -> str:
        return f"{self.content} · {self.hours} 小时"

    @property
    def is_flagged(self) -> bool:
        return self.overlap_flag or self.over_cap_flag


class RecordCorrection(AppendOnlyModel):
    """更正: new times for a record, with the reason, who and when. Append-only; the latest one counts."""

    record = models.ForeignKey(
        ServiceRecord, on_delete=models.PROTECT, related_name="corrections", verbose_name="服务记录"
    )
    previous_started_at = models.DateTimeField("更正前开始时间")
    previous_ended_at = models.DateTimeField("更正前结束时间")
    previous_hours = models.DecimalField("更正前时长(小时)", max_digits=6, decimal_places=2)
    started_at = models.DateTimeField("更正后开始时间")
    ended_at = models.DateTimeField("更正后结束时间")
    hours = models.DecimalField("更正后时长(小时)", max_digits=6, decimal_places=2)
    reason = models.CharField("更正原因", max_length=500)
    corrected_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="更正人")
    corrected_at = models.DateTimeField("更正时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "服务记录更正"
        verbose_name_plural = "服务记录更正"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(ended_at__gte=F("started_at")), name="correction_ends_after_start"),
            models.CheckConstraint(condition=~Q(reason=""), name="correction_has_reason"),
        ]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.record_id} · {self.previous_hours} → {self.hours}"


class Certificate(models.Model):
    """志愿服务证明: a snapshot of approved hours for a volunteer and a period, issued by a community.

    Every printed value is stored as it was at issue: later corrections, renamed communities or a
    changed name on the profile do not alter a certificate already handed out.
    """

    number = models.CharField("证明编号", max_length=32, unique=True, editable=False)
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="certificates", verbose_name="志愿者"
    )
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.PROTECT,
        related_name="volunteer_certificates",
        verbose_name="出具社区",
    )
    period_start = models.DateField("服务期间起")
    period_end = models.DateField("服务期间止")
    hours = models.DecimalField("服务时长(小时)", max_digits=8, decimal_places=2)
    record_count = models.PositiveIntegerField("记录条数")
    records_snapshot = models.JSONField("计入的记录", default=list, editable=False)
    volunteer_name = models.CharField("姓名", max_length=50)
    volunteer_number = models.CharField("志愿者编号", max_length=20)
    id_type = models.CharField("证件类型", max_length=32, choices=IdType.choices)
    id_number_masked = models.CharField("证件号码", max_length=32)
    service_summary = models.CharField("服务内容", max_length=500)
    issuer_name = models.CharField("出具单位", max_length=200)
    person_in_charge = models.CharField("负责人", max_length=50, blank=True)
    handling_officer = models.CharField("经办人", max_length=50, blank=True)
    contact = models.CharField("联系电话", max_length=50, blank=True)
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="出具人")
    issued_at = models.DateTimeField("出具时间", default=timezone.now, editable=False)
    issued_on = models.DateField("出具日期", default=timezone.localdate, editable=False)
    client_id = models.UUIDField("客户端请求号", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="作废人"
    )
    revoke_reason = models.CharField("作废原因", max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = "志愿服务证明"
        verbose_name_plural = "志愿服务证明"
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="certificate_period_order"),
            models.CheckConstraint(condition=Q(hours__gt=Decimal("0")), name="certificate_hours_positive"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""), name="certificate_revoked_has_reason"
            ),
            models.UniqueConstraint(
                fields=["issued_by", "client_id"],
                condition=Q(client_id__isnull=False),
                name="certificate_client_id_once",
            ),
            # Revoke and issue anew: never two standing certificates for the same service.
            models.UniqueConstraint(
                fields=["volunteer", "community", "period_start", "period_end"],
                condition=Q(revoked_at__isnull=True),
                name="certificate_one_standing",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def masked_name(self) -> str:
        return mask_name(self.volunteer_name)
