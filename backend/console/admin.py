"""The import runs list (导入记录): read-only for everyone; the import pages write it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from backend.accounts.scoping import scope_q
from backend.core.console import ScopedAdmin

from .imports.kinds import IMPORTS
from .models import ImportRun
from .pages import account
from .selectors import imports_needing_attention

ATTENTION = "attention"


class AttentionFilter(admin.SimpleListFilter):
    """待处理: the latest run of a kind into a place, when it had errors (the 工作台's 导入待处理)."""

    title = "处理情况"
    parameter_name = ATTENTION

    def lookups(self, request, model_admin):
        return [("1", "待处理(最近一次有错误)")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return imports_needing_attention(queryset)
        return queryset


@admin.register(ImportRun)
class ImportRunAdmin(ScopedAdmin):
    scope_paths = {"community": "community", "street": "street"}
    list_display = ["created_at", "kind_label", "place", "file_name", "by", "outcome", "first_errors", "rows_applied"]
    list_filter = [AttentionFilter, "kind", "saved"]
    list_select_related = ["community", "street", "by"]
    search_fields = ["file_name"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "kind_label",
        "place",
        "by",
        "file_name",
        "saved",
        "rows",
        "rows_applied",
        "error_rows",
        "error_list",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRun]:
        # Her community's runs (a street admin: his street's), and her own runs into a street's
        # register (property companies), which lie outside any community.
        qs = super(ScopedAdmin, self).get_queryset(request)
        user = account(request)
        if user is None:
            return qs.none()
        return qs.filter(scope_q(user, community="community", street="street") | Q(by=user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="导入类型", ordering="kind")
    def kind_label(self, obj: ImportRun) -> str:
        kind = IMPORTS.get(obj.kind)
        return kind.title if kind is not None else obj.kind

    @admin.display(description="导入到")
    def place(self, obj: ImportRun) -> str:
        return obj.community.name if obj.community is not None else obj.street.name

    @admin.display(description="结果")
    def outcome(self, obj: ImportRun) -> str:
        if obj.has_errors:
            return format_html('<span class="console-problem">⚠ {} 行有错误</span>', obj.error_rows or obj.error_count)
        return "已导入" if obj.saved else "检查无误(未确认)"

    @admin.display(description="错误")
    def error_list(self, obj: ImportRun) -> str:
        return _errors_html(obj, obj.errors)

    @admin.display(description="错误(前 3 条)")
    def first_errors(self, obj: ImportRun) -> str:
        return _errors_html(obj, obj.errors[:LIST_ERRORS])


LIST_ERRORS = 3


def _errors_html(run: ImportRun, errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "-"
    items = (
        (
            f"第 {error.get('row')} 行" if error.get("row") is not None else "文件",
            f"{error.get('column')}: " if error.get("column") else "",
            error.get("message", ""),
        )
        for error in errors
    )
    more = run.error_count - len(errors)
    tail = format_html("<li>另有 {} 条</li>", more) if more > 0 else ""
    return format_html(
        '<ul class="console-row-errors">{}{}</ul>', format_html_join("", "<li>{} {}{}</li>", items), tail
    )
