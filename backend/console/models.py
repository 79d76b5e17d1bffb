"""What the console keeps of its own: the record of each Excel import run.

An import keeps no file and no row on the server (the confirmation carries the signed rows), so
without this nothing could say which sheet still waits to be put right. A run records where it
went, who uploaded which file, how many rows it had and saved, and where each error is (row,
column, message): never the cells themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportRun(models.Model):
    """One upload (the preview) or one confirmation of an import. Never edited."""

    kind = models.CharField("导入类型", max_length=32)
    # The community a sheet went to; empty for the street's own registers (property companies).
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="社区",
    )
    street = models.ForeignKey("communities.Street", on_delete=models.PROTECT, related_name="+", verbose_name="街道")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="导入人")
    file_name = models.CharField("文件名", max_length=255, blank=True)
    saved = models.BooleanField("确认导入", default=False, help_text="否: 上传预览")
    rows = models.PositiveIntegerField("行数", default=0)
    rows_applied = models.PositiveIntegerField("已导入行数", default=0)
    error_rows = models.PositiveIntegerField("有错误的行数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    # [{"row": 4, "column": "手机号", "message": "请输入有效的中国大陆手机号"}]; row is null for the
    # file as a whole. The first services.MAX_STORED_ERRORS of error_count.
    errors = models.JSONField("错误", default=list, blank=True)
    created_at = models.DateTimeField("时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "street", "community", "-created_at"], name="importrun_latest")]

    def __str__(self) -> str:
        return f"{self.file_name or self.kind} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0
