"""一社区一品牌: each community's brand, its plan reviewed by the street, deadlines, reminders, honours."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Brand(models.Model):
    """A community's party-building brand. One is current (active); those it replaced stay as history."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        ACTIVE = "active", "已发布"
        RETIRED = "retired", "已停用"

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="brands", verbose_name="社区"
    )
    name = models.CharField("品牌名称", max_length=100)
    slogan = models.CharField("口号", max_length=200, blank=True)
    description = models.TextField("简介", max_length=5000, blank=True)
    logo = models.ForeignKey(
        "core.Upload",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="brand_logos",
        verbose_name="标志",
    )
    # The working method (工作法) in three parts, as the street asks communities to describe it.
    method_name = models.CharField("工作法名称", max_length=100, blank=True)
    method_problem = models.TextField("解决的问题", max_length=2000, blank=True)
    method_steps = models.JSONField("工作法步骤", default=list, blank=True, help_text="步骤文字的列表")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    retired_at = models.DateTimeField("停用时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="创建人",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "社区品牌"
        verbose_name_plural = "社区品牌"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community"], condition=Q(status="active"), name="brand_one_active_per_community"
            ),
        ]
        indexes = [models.Index(fields=["status", "community"], name="brand_status_community")]

    def __str__(self) -> str:
        return self.name


class BrandPlan(models.Model):
    """One version of a brand's design and plan. A returned plan is revised as a new version."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "待审核"
        APPROVED = "approved", "已通过"
        RETURNED = "returned", "已退回"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED)
    # A plan in one of these has been handed in to the street: the deadline is met.
    HANDED_IN_STATUSES = (Status.SUBMITTED, Status.APPROVED)

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="plans", verbose_name="品牌")
    version = models.PositiveIntegerField("版本")
    # The deadline year the plan answers to (Asia/Shanghai year of its creation); its due date is
    # the street's deadline for the brand's community in that year.
    year = models.PositiveSmallIntegerField("年度")
    content = models.TextField("方案内容", max_length=20000)
    attachments = models.ManyToManyField(
        "core.Upload", through="BrandPlanAttachment", blank=True, related_name="brand_plans", verbose_name="附件"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="编写人",
    )
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提交人",
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    review_comments = models.TextField("审核意见", max_length=2000, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "品牌方案"
        verbose_name_plural = "品牌方案"
        ordering = ["brand_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "version"], name="brandplan_unique_version"),
            # One version in the works at a time: the next starts once this one is reviewed.
            models.UniqueConstraint(
                fields=["brand"], condition=Q(status__in=["draft", "submitted"]), name="brandplan_one_open_per_brand"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="brandplan_version_positive"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False), name="brandplan_submitted_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "returned"]) | Q(reviewed_at__isnull=False),
                name="brandplan_reviewed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} · 第{self.version}版"

    @property
    def ordered_attachments(self) -> list:
        """The attachments in the order they were given (uses `attachment_links__upload` when prefetched)."""
        return [link.upload for link in self.attachment_links.all()]


class BrandPlanAttachment(models.Model):
    """An upload attached to a plan version, in the order the community gave them (the main text first)."""

    plan = models.ForeignKey(BrandPlan, on_delete=models.CASCADE, related_name="attachment_links", verbose_name="方案")
    upload = models.ForeignKey("core.Upload", on_delete=models.CASCADE, related_name="+", verbose_name="文件")
    position = models.PositiveSmallIntegerField("顺序")

    class Meta:
        verbose_name = "方案附件"
        verbose_name_plural = "方案附件"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "upload"], name="brandplanattachment_unique")]

    def __str__(self) -> str:
        return str(self.upload)


class BrandDeadline(models.Model):
    """When a group of a street's communities must hand in their brand plan (e.g. 七一前, 10月底前)."""

    street = models.ForeignKey(
        "communities.Street", on_delete=models.PROTECT, related_name="brand_deadlines", verbose_name="街道"
    )
    title = models.CharField("名称", max_length=100, blank=True, help_text="如 七一表彰大会前")
    due_date = models.DateField("截止日期", help_text="北京时间的日期, 当天结束前提交即按时")
    communities = models.ManyToManyField(
        "communities.Community",
        through="BrandDeadlineCommunity",
        related_name="brand_deadlines",
        verbose_name="社区",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="设置人",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "品牌方案截止日期"
        verbose_name_plural = "品牌方案截止日期"
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return f"{self.title or '品牌方案'} · {self.due_date:%Y-%m-%d}"


class BrandDeadlineCommunity(models.Model):
    """A community under a deadline. `year` repeats the deadline's so the database keeps one a year."""

    deadline = models.ForeignKey(
        BrandDeadline, on_delete=models.CASCADE, related_name="entries", verbose_name="截止日期"
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, related_name="+", verbose_name="社区"
    )
    year = models.PositiveSmallIntegerField("年度")

    class Meta:
        verbose_name = "截止日期适用社区"
        verbose_name_plural = "截止日期适用社区"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "year"], name="branddeadline_one_per_community_year"),
        ]

    def __str__(self) -> str:
        return f"{self.community} · {self.deadline}"


class PlanReminder(models.Model):
    """A reminder sent to a community's staff about its plan's deadline; the row makes it once only."""

    class Kind(models.TextChoices):
        D14 = "d14", "提前14天"
        D7 = "d7", "提前7天"
        D1 = "d1", "提前1天"
        OVERDUE = "overdue", "已逾期"

    deadline = models.ForeignKey(
        BrandDeadline, on_delete=models.CASCADE, related_name="reminders", verbose_name="截止日期"
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, related_name="+", verbose_name="社区"
    )
    # The date reminded about: when the street moves a deadline, the countdown starts afresh.
    due_date = models.DateField("截止日期")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    recipient_count = models.PositiveIntegerField("接收人数", default=0)
    sent_at = models.DateTimeField("发送时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "方案提醒"
        verbose_name_plural = "方案提醒"
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "community", "due_date", "kind"], name="planreminder_once_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community} · {self.get_kind_display()}"


class Honor(models.Model):
    """An honour (金字招牌) that went to a brand or to a party organisation."""

    class Level(models.TextChoices):
        NATIONAL = "national", "国家级"
        PROVINCIAL = "provincial", "省级"
        MUNICIPAL = "municipal", "市级"
        DISTRICT = "district", "区级"

    # Derived from the brand or organisation: the street whose admins keep this record.
    street = models.ForeignKey(
        "communities.Street", on_delete=models.PROTECT, related_name="honors", verbose_name="街道"
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, null=True, blank=True, related_name="honors", verbose_name="品牌"
    )
    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="honors",
        verbose_name="党组织",
    )
    level = models.CharField("级别", max_length=16, choices=Level.choices)
    title = models.CharField("荣誉名称", max_length=200)
    issuer = models.CharField("授予单位", max_length=150)
    awarded_on = models.DateField("授予日期")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "荣誉"
        verbose_name_plural = "荣誉"
        ordering = ["-awarded_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(brand__isnull=False) & Q(organization__isnull=True))
                | (Q(brand__isnull=True) & Q(organization__isnull=False)),
                name="honor_exactly_one_recipient",
            ),
        ]

    def __str__(self) -> str:
        return self.title
