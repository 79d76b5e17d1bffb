"""The one table reports keeps: each 双报告 as it was generated and sent, so it can be shown again."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class FeedbackReport(models.Model):
    """双报告: a unit's report for one period, frozen when generated; the quarterly job makes each once."""

    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        related_name="feedback_reports",
        verbose_name="单位党组织",
    )
    period = models.CharField("报告期间", max_length=16, help_text="如 2026Q1、2026H1、2026")
    period_start = models.DateTimeField("期间开始")
    period_end = models.DateTimeField("期间结束", help_text="不含")
    generated_at = models.DateTimeField("生成时间", default=timezone.now, editable=False)
    data = models.JSONField("报告内容", encoder=DjangoJSONEncoder, help_text="生成时的全部数据, 与接口返回的格式相同")
    xlsx = models.FileField("Excel 文件", upload_to="reports/feedback/%Y/", max_length=255)
    # The same file as an upload, so the notice can carry it as an attachment like any other.
    attachment = models.ForeignKey(
        "core.Upload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="通知附件"
    )
    sent_notice = models.ForeignKey(
        "notices.Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="发送的通知"
    )
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    recipient_count = models.PositiveIntegerField("接收人数", default=0)

    class Meta:
        verbose_name = "双报告"
        verbose_name_plural = "双报告"
        ordering = ["-period_start", "organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "period"], name="feedbackreport_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.period} 双报告"
