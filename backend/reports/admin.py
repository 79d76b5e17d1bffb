"""The console's view of the kept 双报告: read-only, as they were generated and sent."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from backend.core.console import ScopedAdmin

from .models import FeedbackReport


@admin.register(FeedbackReport)
class FeedbackReportAdmin(ScopedAdmin):
    """Reports are written by the quarterly job only; here they are read again, never changed.

    The kept file and data hold every community's members and the unregistered ones, so they are
    listed for the readers of the whole report only (superusers). Community staff and the units'
    liaisons read their cut through the API, which limits it to their communities or their own
    ties.
    """

    scope_paths = {"organization": "organization"}
    staff_can_add = False
    staff_can_edit = False
    staff_can_delete = False
    list_display = ["organization", "period", "generated_at", "sent_at", "recipient_count", "workbook"]
    list_filter = ["period"]
    search_fields = ["organization__name", "organization__employer"]
    date_hierarchy = "period_start"
    fields = [
        "organization",
        "period",
        "period_start",
        "period_end",
        "generated_at",
        "sent_at",
        "sent_notice",
        "recipient_count",
        "workbook",
        "data",
    ]
    readonly_fields = fields

    @admin.display(description="Excel 文件")
    def workbook(self, report: FeedbackReport) -> str:
        if not report.xlsx:
            return "-"
        return format_html('<a href="{}">下载</a>', report.xlsx.url)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
