"""The console's sidebar, by task rather than by app (unfold's SIDEBAR["navigation"]): built per
request from what the user may open. It names every app's lists, so it lives in the console app,
above them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_str

from backend.accounts.scoping import get_scope

from .pages import account


@dataclass(frozen=True)
class Entry:
    title: str
    icon: str
    model: str = ""  # "app_label.model": the changelist, shown when the user may view it
    url_name: str = ""  # or a console page by URL name, shown to staff
    staff_only: bool = True
    street_only: bool = False  # a street's page: shown to street admins (and superusers)


SIDEBAR: list[tuple[str, list[Entry]]] = [
    (
        "工作台",
        [Entry("工作台", "dashboard", url_name="admin:index", staff_only=False)],
    ),
    (
        "双报到审核",
        [
            Entry("党员报到", "how_to_reg", "members.memberregistration"),
            Entry("单位报到", "apartment", "members.unitregistration"),
            Entry("党员", "badge", "members.partymember"),
            Entry("服务岗位", "work", "members.servicepost"),
            Entry("微心愿与需求", "volunteer_activism", "members.demand"),
            Entry("资源", "inventory_2", "members.resource"),
            Entry("服务项目", "handshake", "members.serviceproject"),
            Entry("积分明细", "stars", "members.pointsentry"),
            Entry("积分规则", "rule", "members.pointsrule"),
        ],
    ),
    (
        "活动与签到",
        [
            Entry("活动", "event", "activities.activity"),
            Entry("签到屏", "qr_code_2", url_name="console-checkin-index"),
            Entry("报名", "group_add", "activities.enrollment"),
            Entry("签到记录", "fact_check", "activities.checkin"),
            Entry("请假", "event_busy", "activities.leaverequest"),
            Entry("会议记录", "description", "activities.minutes"),
            Entry("活动场所", "location_on", "communities.place"),
        ],
    ),
    (
        "志愿时长审核",
        [
            Entry("服务记录", "schedule", "volunteers.servicerecord"),
            Entry("志愿者", "diversity_3", "volunteers.volunteer"),
            Entry("志愿服务队", "groups", "volunteers.volunteerteam"),
            Entry("志愿服务证明", "workspace_premium", "volunteers.certificate"),
        ],
    ),
    (
        "品牌方案",
        [
            Entry("品牌方案", "assignment", "brands.brandplan"),
            Entry("品牌", "flag", "brands.brand"),
            Entry("报送期限", "event_upcoming", "brands.branddeadline"),
            Entry("荣誉", "military_tech", "brands.honor"),
            Entry("提醒记录", "notifications", "brands.planreminder"),
        ],
    ),
    (
        "接诉即办",
        [Entry("诉求", "support_agent", "appeals.appeal")],
    ),
    (
        "红色物业",
        [
            Entry("物业公司", "domain", "red_property.propertycompany"),
            Entry("小区治理", "home_work", "red_property.estategovernance"),
            Entry("业委会", "groups_2", "red_property.ownerscommittee"),
            Entry("居委会", "account_balance", "red_property.residentscommittee"),
            Entry("三方联动会议", "forum", "red_property.jointmeeting"),
            Entry("自治小组", "diversity_2", "red_property.selfgovernancegroup"),
            Entry("自治会议", "record_voice_over", "red_property.selfgovernancemeeting"),
            Entry("考评标准", "tune", "red_property.assessmentstandard"),
            Entry("考评项目", "checklist", "red_property.assessmentitem"),
            Entry("小区考评", "grading", "red_property.estateassessment"),
        ],
    ),
    (
        "通知公告",
        [
            Entry("通知", "campaign", "notices.notice"),
            Entry("回执", "mark_email_read", "notices.noticereceipt"),
        ],
    ),
    (
        "报表",
        [
            Entry("数据看板", "monitoring", url_name="admin:index", staff_only=False),
            Entry("街道对比", "compare", url_name="console-street", street_only=True),
            Entry("双报告", "summarize", "reports.feedbackreport"),
            Entry("Excel 导入", "upload_file", url_name="console-import-index"),
            Entry("导入记录", "history", "console.importrun"),
        ],
    ),
    (
        "内容审核",
        [Entry("内容安全检测", "shield", "core.contentcheck")],
    ),
    (
        "基础信息",
        [
            Entry("街道", "location_city", "communities.street"),
            Entry("社区", "holiday_village", "communities.community"),
            Entry("网格", "grid_view", "communities.grid"),
            Entry("小区", "home", "communities.estate"),
            Entry("党组织", "account_tree", "communities.partyorganization"),
            Entry("角色授权", "admin_panel_settings", "accounts.rolegrant"),
        ],
    ),
]

# Registered models listed under a task above; whatever else a user may see lands in "其他".
_LISTED = {entry.model for _title, entries in SIDEBAR for entry in entries if entry.model}


def _model_admin(site: admin.AdminSite, label: str) -> tuple[type | None, admin.ModelAdmin | None]:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None, None
    return model, site._registry.get(model)


def _may_see(model_admin: admin.ModelAdmin, request: HttpRequest) -> bool:
    return model_admin.has_module_permission(request) and model_admin.has_view_or_change_permission(request)


def _changelist(model) -> str | None:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return None


def sidebar_navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """Unfold's SIDEBAR["navigation"]: the groups by task, holding only what this user may open."""
    site = admin.site
    if not site.has_permission(request):
        return []
    scope = get_scope(account(request))
    is_staff = scope.is_staff
    groups: list[dict[str, Any]] = []
    for title, entries in SIDEBAR:
        items = []
        for entry in entries:
            if entry.model:
                model, model_admin = _model_admin(site, entry.model)
                if model_admin is None or not _may_see(model_admin, request):
                    continue
                link = _changelist(model)
            else:
                if entry.staff_only and not is_staff:
                    continue
                if entry.street_only and not (scope.is_superuser or scope.street_ids):
                    continue
                link = reverse(entry.url_name)
            if link:
                items.append({"title": entry.title, "icon": entry.icon, "link": link})
        if items:
            groups.append({"title": title, "separator": bool(groups), "collapsible": False, "items": items})
    others = []
    for model, model_admin in site._registry.items():
        if model._meta.label_lower in _LISTED or not _may_see(model_admin, request):
            continue
        link = _changelist(model)
        if link:
            others.append({"title": force_str(model._meta.verbose_name_plural), "icon": "folder", "link": link})
    if others:
        others.sort(key=lambda item: item["title"])
        groups.append({"title": "其他", "separator": True, "collapsible": True, "items": others})
    return groups
