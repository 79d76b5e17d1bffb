"""The 工作台's 待办: what waits for the signed-in person's decision, counted through each list's own
scoped admin queryset (so a count is exactly what the linked list shows), each with a link to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from backend.activities.models import LeaveRequest
from backend.appeals.models import Appeal
from backend.brands.models import BrandPlan
from backend.core.models import ContentCheck
from backend.members.models import MemberRegistration, UnitRegistration
from backend.volunteers.models import ServiceRecord

from .models import ImportRun
from .selectors import imports_needing_attention

# An open appeal whose next deadline falls within this window is shown as due.
APPEAL_DUE_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Todo:
    key: str
    label: str
    count: int
    url: str
    hint: str = ""
    urgent: bool = False


def _admin_for(model: type[Model]) -> admin.ModelAdmin | None:
    return admin.site._registry.get(model)


def _rows(request: HttpRequest, model: type[Model]) -> tuple[QuerySet | None, str]:
    """The rows of the model's list as this user sees them, and the list's address; none when the
    user may not open that list."""
    model_admin = _admin_for(model)
    if model_admin is None or not model_admin.has_view_permission(request):
        return None, ""
    opts = model._meta
    return model_admin.get_queryset(request), reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def _link(url: str, **params: str) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def _status_todo(
    request: HttpRequest, model: type[Model], status: str, *, key: str, label: str, hint: str = ""
) -> Todo | None:
    rows, url = _rows(request, model)
    if rows is None:
        return None
    return Todo(key, label, rows.filter(status=status).count(), _link(url, status__exact=status), hint)


def _appeals_due(request: HttpRequest) -> Todo | None:
    rows, url = _rows(request, Appeal)
    if rows is None:
        return None
    soon = timezone.now() + APPEAL_DUE_WINDOW
    due = Q(status=Appeal.Status.SUBMITTED, respond_due_at__lte=soon) | Q(
        status__in=[Appeal.Status.ACCEPTED, Appeal.Status.REPLIED], resolve_due_at__lte=soon
    )
    count = rows.filter(due).count()
    return Todo(
        "appeals_due",
        "诉求临近或超过时限",
        count,
        url,
        "24 小时内到期或已超期, 未受理的看响应时限, 已受理的看办结时限",
        urgent=count > 0,
    )


def _plans(request: HttpRequest, *, reviewer: bool) -> Todo | None:
    if reviewer:
        return _status_todo(
            request, BrandPlan, BrandPlan.Status.SUBMITTED, key="plans_to_review", label="品牌方案待审核"
        )
    rows, url = _rows(request, BrandPlan)
    if rows is None:
        return None
    # A community's own plans that are not yet with the street: drafts and returned versions.
    count = rows.filter(status__in=[BrandPlan.Status.DRAFT, BrandPlan.Status.RETURNED]).count()
    return Todo("plans_to_submit", "品牌方案待提交(草稿、退回)", count, url, "按街道设定的截止时间提交")


def _imports(request: HttpRequest) -> Todo | None:
    rows, url = _rows(request, ImportRun)
    if rows is None:
        return None
    count = imports_needing_attention(rows).count()
    return Todo(
        "imports",
        "导入待处理",
        count,
        _link(url, attention="1"),
        "最近一次导入有错误的表格, 改正后重新上传",
    )


def todos(request: HttpRequest, *, reviewer: bool) -> list[Todo]:
    """Her 待办 in the order she works through them; lists she may not open are left out."""
    items = [
        _status_todo(
            request,
            MemberRegistration,
            MemberRegistration.Status.PENDING,
            key="member_registrations",
            label="党员报到待审核",
        ),
        _status_todo(
            request, UnitRegistration, UnitRegistration.Status.PENDING, key="unit_registrations", label="单位报到待审核"
        ),
        _status_todo(
            request, ServiceRecord, ServiceRecord.Status.PENDING, key="service_records", label="服务记录待审核"
        ),
        _status_todo(request, LeaveRequest, LeaveRequest.Status.PENDING, key="leave", label="请假待审批"),
        _appeals_due(request),
        _plans(request, reviewer=reviewer),
        _status_todo(
            request,
            ContentCheck,
            ContentCheck.Status.REVIEW,
            key="content_review",
            label="内容待人工复核",
            hint="微信内容安全检测未能判定, 待工作人员查看",
        ),
        _imports(request),
    ]
    return [item for item in items if item is not None]


def workbench_context(request: HttpRequest, *, reviewer: bool) -> dict[str, Any]:
    items = todos(request, reviewer=reviewer)
    return {"todos": items, "todo_total": sum(item.count for item in items)}
