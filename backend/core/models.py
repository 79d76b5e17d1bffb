"""Uploaded files: the one table every app points at when it keeps a photo or a document."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Upload(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "图片"
        DOCUMENT = "document", "文档"

    # SET_NULL: anonymising an account must not take the photos of an appeal or a record with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploads",
        verbose_name="上传者",
    )
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    file = models.FileField("文件", max_length=255)
    thumbnail = models.FileField("缩略图", max_length=255, blank=True)
    content_type = models.CharField("内容类型", max_length=100)
    size = models.PositiveBigIntegerField("大小(字节)")
    width = models.PositiveIntegerField("宽(像素)", null=True, blank=True)
    height = models.PositiveIntegerField("高(像素)", null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    original_name = models.CharField("原文件名", max_length=255, blank=True)
    created_at = models.DateTimeField("上传时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "上传文件"
        verbose_name_plural = "上传文件"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="document") | Q(width__isnull=False, height__isnull=False),
                name="upload_image_has_dimensions",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or self.file.name or ""


class ContentCheck(models.Model):
    """WeChat's verdict on one piece of user content: a record's text, or one image attached to it.

    The record is named by its model label and id (core cannot point at the apps above it). While a
    check that `holds` is not passed, the record's selectors keep it from everyone but its author and
    the staff in scope (backend/core/moderation.py); checks that do not hold (content only the staff
    handling it read, such as appeals) record the verdict and flag it, nothing more.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "文字"
        MEDIA = "media", "图片"

    class Status(models.TextChoices):
        PENDING = "pending", "检测中"
        REVIEW = "review", "待人工复核"
        PASSED = "passed", "已通过"
        REJECTED = "rejected", "未通过"
        SKIPPED = "skipped", "未检测"

    target = models.CharField("内容类型", max_length=64, help_text="模型标签, 如 members.demand")
    object_id = models.PositiveBigIntegerField("内容 id")
    # For text, which part of the record ("text", "comment"); for images, "media".
    field = models.CharField("检测部分", max_length=32)
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    # The record's fields whose text is checked, read again when the check runs (no copy is kept).
    source_fields = models.JSONField("检测字段", default=list, blank=True)
    upload = models.ForeignKey(
        Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="content_checks", verbose_name="图片"
    )
    holds = models.BooleanField("通过前对他人隐藏", default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="content_checks",
        verbose_name="作者",
    )
    # The community whose staff review it (a plain id: the map lives in a higher app).
    community_id = models.PositiveBigIntegerField("社区 id", null=True, blank=True, db_index=True)
    scene = models.PositiveSmallIntegerField("场景", default=3)
    digest = models.CharField("内容摘要", max_length=64, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField("说明", max_length=32, blank=True)
    suggest = models.CharField("微信建议", max_length=16, blank=True)
    label = models.PositiveIntegerField("微信标签", null=True, blank=True)
    trace_id = models.CharField("微信 trace_id", max_length=128, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    sent_at = models.DateTimeField("送检时间", null=True, blank=True)
    checked_at = models.DateTimeField("结论时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="复核人",
    )
    decision_note = models.CharField("复核意见", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "内容安全检测"
        verbose_name_plural = "内容安全检测"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "object_id", "field"],
                condition=Q(upload__isnull=True),
                name="contentcheck_one_text_per_part",
            ),
            models.UniqueConstraint(
                fields=["target", "object_id", "upload"],
                condition=Q(upload__isnull=False),
                name="contentcheck_one_per_image",
            ),
            models.CheckConstraint(
                condition=Q(kind="text", upload__isnull=True) | Q(kind="media", upload__isnull=False),
                name="contentcheck_media_has_upload",
            ),
        ]
        indexes = [
            models.Index(fields=["target", "object_id"], name="contentcheck_target"),
            models.Index(fields=["status", "next_attempt_at"], name="contentcheck_due"),
        ]

    def __str__(self) -> str:
        return f"{self.target}#{self.object_id} {self.field}"
