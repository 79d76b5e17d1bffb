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
        return self.original_name or self.file.name
