"""接诉即办: residents' appeals, their steps, deadlines and ratings.

Foreign keys to users are SET_NULL: accounts are anonymised in place, and should a user row
ever go, the appeal and its history must stay (the rates are computed from them). Steps are
append-only; the one change they allow is losing the user they name.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core.ledger import AppendOnlyModel, append_only

USER = settings.AUTH_USER_MODEL


class Appeal(models.Model):
    """One resident's problem, from the app, a grid worker on their behalf or the 12345 hotline."""

    class Source(models.TextChoices):
        APP = "app", "小程序"
        GRID_WORKER = "grid_worker", "网格员代报"
        HOTLINE = "hotline", "12345热线"

    class Category(models.TextChoices):
        ENVIRONMENT = "environment", "环境卫生"
        PROPERTY = "property", "物业服务"
        FACILITIES = "facilities", "设施维修"
        SAFETY = "safety", "安全隐患"
        NEIGHBOURS = "neighbours", "邻里纠纷"
        POLICY = "policy", "政策咨询"
        OTHER = "other", "其他"

    class Urgency(models.TextChoices):
        URGENT = "urgent", "紧急"
        UTILITIES = "utilities", "水电气暖"
        GENERAL = "general", "一般"
        COMPLEX = "complex", "复杂"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "待受理"
        ACCEPTED = "accepted", "已受理"
        REPLIED = "replied", "已答复"
        RESOLVED = "resolved", "已办结"
        RATED = "rated", "已评价"
        CLOSED = "closed", "已关闭(未评价)"
        REJECTED = "rejected", "不予受理"

    # Still being worked on: the deadlines run and the appeal may be assigned.
    OPEN_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.REPLIED)

    client_id = models.UUIDField("客户端请求 id", help_text="同一提交人重复提交同一 id 时返回首次结果")
    source = models.CharField("来源", max_length=16, choices=Source.choices, default=Source.APP)
    ticket_number = models.CharField("12345 工单号", max_length=64, unique=True, null=True, blank=True)
    filed_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, related_name="filed_appeals", verbose_name="提交人"
    )
    # Who the appeal is for: the filer in the app; for filings on someone's behalf, the account
    # holding the contact phone, if there is one. They see it, are told of each step and rate it.
    resident = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="appeals", verbose_name="诉求人"
    )
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="appeals", verbose_name="社区"
    )
    grid = models.ForeignKey(
        "communities.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="appeals", verbose_name="网格"
    )
    estate = models.ForeignKey(
        "communities.Estate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appeals",
        verbose_name="小区",
    )
    place = models.CharField("地点", max_length=200, blank=True)
    category = models.CharField("类别", max_length=16, choices=Category.choices)
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices, default=Urgency.GENERAL)
    content = models.TextField("诉求内容", max_length=2000)
    photos = models.ManyToManyField("core.Upload", blank=True, related_name="+", verbose_name="照片")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    assignee = models.ForeignKey(
        USER,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_appeals",
        verbose_name="承办人",
    )
    submitted_at = models.DateTimeField("提交时间", default=timezone.now, editable=False)
    respond_due_at = models.DateTimeField("响应时限")
    resolve_due_at = models.DateTimeField("办结时限")
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    resolved_at = models.DateTimeField("办结时间", null=True, blank=True)
    rated_at = models.DateTimeField("评价时间", null=True, blank=True)
    rejected_at = models.DateTimeField("不予受理时间", null=True, blank=True)
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    score = models.PositiveSmallIntegerField("满意度评分", null=True, blank=True)
    comment = models.TextField("评价内容", max_length=500, blank=True)
    respond_overdue = models.BooleanField("响应超时", default=False)
    resolve_overdue = models.BooleanField("办结超时", default=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["filed_by", "client_id"], name="appeal_unique_client_id_per_filer"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="appeal_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=~Q(status="rated") | Q(score__isnull=False, rated_at__isnull=False),
                name="appeal_rated_has_score",
            ),
            models.CheckConstraint(
                condition=~Q(source="hotline") | Q(ticket_number__isnull=False), name="appeal_hotline_has_ticket"
            ),
            models.CheckConstraint(
                condition=Q(respond_due_at__gte=models.F("submitted_at"))
                & Q(resolve_due_at__gte=models.F("submitted_at")),
                name="appeal_deadlines_after_submission",
            ),
        ]
        indexes = [
            models.Index(fields=["community", "submitted_at"], name="appeal_community_submitted"),
            models.Index(fields=["grid", "submitted_at"], name="appeal_grid_submitted"),
            models.Index(fields=["status", "respond_due_at"], name="appeal_status_respond_due"),
            models.Index(fields=["status", "resolve_due_at"], name="appeal_status_resolve_due"),
            models.Index(fields=["status", "resolved_at"], name="appeal_status_resolved"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}诉求 #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class AppealStep(AppendOnlyModel):
    """One step of an appeal, stamped with who and when; the resident sees every one. Append-only."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "提交"
        ASSIGNED = "assigned", "交办"
        ACCEPTED = "accepted", "受理"
        REPLIED = "replied", "答复"
        RESOLVED = "resolved", "办结"
        REJECTED = "rejected", "不予受理"
        RATED = "rated", "评价"
        CLOSED = "closed", "关闭"

    append_only_may_clear = ("actor", "assignee")

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="steps", verbose_name="诉求")
    kind = models.CharField("步骤", max_length=16, choices=Kind.choices)
    # Null: the system (closing an unrated appeal), or an account that no longer exists.
    actor = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="操作人"
    )
    assignee = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="承办人"
    )
    content = models.TextField("内容", max_length=2000, blank=True)
    at = models.DateTimeField("时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "诉求办理步骤"
        verbose_name_plural = "诉求办理步骤"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appeal", "at"], name="appealstep_appeal_at")]
        triggers = append_only(may_clear=("actor", "assignee"))

    def __str__(self) -> str:
        return f"{self.appeal} · {self.get_kind_display()}"
