"""The console (Django admin, themed by django-unfold): the site, the scoped ModelAdmin base every
app's admin uses, the sidebar by task and the Excel export of ledger lists.

The console's own pages (dashboard, check-in screen, imports) read every app, so they live above
them all, in `backend/console_views.py`, mounted under /admin/console/. docs/console.md describes
the whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import display_for_field, display_for_value, get_fields_from_path, label_for_field
from django.contrib.admin.utils import lookup_field as admin_lookup_field
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm as BaseAuthenticationForm
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.html import strip_tags
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.forms import ActionForm as UnfoldActionForm
from unfold.forms import AuthenticationForm as UnfoldAuthenticationForm
from unfold.sites import UnfoldAdminSite

from .scoping import get_scope, limit_choices, scope_q
from .xlsx import workbook_bytes

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ConsoleAuthenticationForm(UnfoldAuthenticationForm):
    """Holding a role opens the console; Django's is_staff flag, which role grants never set, does not."""

    def confirm_login_allowed(self, user):
        BaseAuthenticationForm.confirm_login_allowed(self, user)
        if not (user.is_superuser or get_scope(user).has_any_role):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ConsoleSite(UnfoldAdminSite):
    site_header = "社区党建工作台"
    site_title = "社区党建工作台"
    index_title = "工作台"
    # The dashboard; its figures come from UNFOLD["DASHBOARD_CALLBACK"] (backend/console_views.py).
    index_template = "console/dashboard.html"
    login_form = ConsoleAuthenticationForm

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_authenticated and (user.is_superuser or get_scope(user).has_any_role))

    def login(self, request, extra_context=None):
        # Unfold's login form has no `next` field, so a sign-in from the bare login page went to
        # settings.LOGIN_REDIRECT_URL (a 404 here): keep `next` in the URL the form posts back to.
        if request.method == "GET" and REDIRECT_FIELD_NAME not in request.GET:
            index = reverse("admin:index", current_app=self.name)
            return HttpResponseRedirect(f"{request.path}?{urlencode({REDIRECT_FIELD_NAME: index})}")
        return super().login(request, extra_context)


# The sidebar, by task ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    title: str
    icon: str
    model: str = ""  # "app_label.model": the changelist, shown when the user may view it
    url_name: str = ""  # or a console page by URL name, shown to staff
    staff_only: bool = True


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
            Entry("双报告", "summarize", "reports.feedbackreport"),
            Entry("Excel 导入", "upload_file", url_name="console-import-index"),
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
    is_staff = get_scope(request.user).is_staff
    groups = []
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


# Ledger exports ----------------------------------------------------------------------------------

# Lists that are ledgers secretaries keep in Excel: their changelists offer the export action.
LEDGER_MODELS = frozenset(
    {
        "communities.estate",
        "members.partymember",
        "members.memberregistration",
        "members.unitregistration",
        "members.demand",
        "members.pointsentry",
        "activities.activity",
        "activities.enrollment",
        "activities.checkin",
        "activities.leaverequest",
        "volunteers.volunteer",
        "volunteers.servicerecord",
        "volunteers.certificate",
        "appeals.appeal",
        "red_property.propertycompany",
        "red_property.estategovernance",
        "red_property.jointmeeting",
        "notices.noticereceipt",
    }
)
EXPORT_MAX_ROWS = 20_000


def _cell(model_admin: admin.ModelAdmin, name: str, obj: Any) -> Any:
    try:
        field, attr, value = admin_lookup_field(name, obj, model_admin)
    except (AttributeError, ObjectDoesNotExist):
        return ""
    empty = ""
    if field is not None:
        if getattr(field, "flatchoices", None) or field.is_relation:
            text = display_for_field(value, field, empty)
        elif isinstance(value, bool):
            return "是" if value else "否"
        elif value is None:
            return ""
        elif hasattr(value, "tzinfo") and value.tzinfo is not None:
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, (int, float)) or hasattr(value, "as_tuple"):
            return value
        else:
            text = display_for_field(value, field, empty)
    elif getattr(attr, "boolean", False) or isinstance(value, bool):
        return "是" if value else "否"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    else:
        text = display_for_value(value, empty)
    return strip_tags(force_str(text))


def ledger_workbook(model_admin: admin.ModelAdmin, request: HttpRequest, objects: Iterable[Any]) -> bytes:
    """The rows as the list shows them (masked where the list masks), one sheet, Chinese headers."""
    names = [name for name in model_admin.get_export_fields(request) if name != "action_checkbox"]
    book = Workbook()
    sheet = book.active
    sheet.title = force_str(model_admin.opts.verbose_name_plural)[:31]
    headers = [
        strip_tags(force_str(label_for_field(name, model_admin.model, model_admin=model_admin))) for name in names
    ]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for obj in objects:
        sheet.append([_cell(model_admin, name, obj) for name in names])
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(header) * 2 + 4))
    sheet.freeze_panes = "A2"
    return workbook_bytes(book)


def action_form_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: Iterable[Any],
    *,
    form: Any,
    title: str,
    intro: str,
    action_name: str,
    submit_label: str,
) -> TemplateResponse:
    """The page an action shows to ask for what it needs (a reason, comments) before it runs."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": modeladmin.model._meta,
        "objects": queryset,
        "form": form,
        "action_name": action_name,
        "submit_label": submit_label,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "console/action_form.html", context)


class ScopedAdmin(UnfoldModelAdmin):
    """A ModelAdmin that shows and changes only rows inside the user's scope.

    Subclasses name the lookup paths (`scope_paths = {"community": "community"}`) as for
    `scope_q`; rows outside scope are absent from lists and their change pages answer 404.
    Staff may edit (`staff_can_edit`); others only view. Superusers see everything.
    Ledger lists (LEDGER_MODELS, or `ledger_export = True`) offer an Excel export of the rows chosen.
    """

    scope_paths: dict[str, str] = {"community": "community"}
    scope_options: dict[str, bool] = {}
    staff_can_add = True
    staff_can_edit = True
    staff_can_delete = False
    ledger_export: bool | None = None
    export_fields: list[str] | None = None

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        if not issubclass(self.action_form, UnfoldActionForm):
            # An app's own action form (one with a reason field) gets unfold's action select, without
            # which the theme never shows the "run" button.
            self.action_form = type(self.action_form.__name__, (UnfoldActionForm, self.action_form), {})

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(scope_q(request.user, **self.scope_paths, **self.scope_options))

    def _scope(self, request):
        return get_scope(request.user)

    def has_module_permission(self, request):
        return self._scope(request).has_any_role

    def has_view_permission(self, request, obj=None):
        return self._scope(request).has_any_role

    def has_add_permission(self, request):
        scope = self._scope(request)
        return scope.is_superuser or (self.staff_can_add and scope.is_staff)

    def has_change_permission(self, request, obj=None):
        scope = self._scope(request)
        return scope.is_superuser or (self.staff_can_edit and scope.is_staff)

    def has_delete_permission(self, request, obj=None):
        scope = self._scope(request)
        return scope.is_superuser or (self.staff_can_delete and scope.is_staff)

    def get_list_filter(self, request):
        # A plain related-field filter lists every row of the related model (all communities, all
        # streets): for a scoped user, offer only the values present in their own rows.
        filters = super().get_list_filter(request)
        if self._scope(request).is_superuser:
            return filters
        return [(f, admin.RelatedOnlyFieldListFilter) if self._is_relation_path(f) else f for f in filters]

    def _is_relation_path(self, list_filter) -> bool:
        if not isinstance(list_filter, str):
            return False
        try:
            return get_fields_from_path(self.model, list_filter)[-1].is_relation
        except FieldDoesNotExist:
            return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Place choices are limited to the user's scope, so a row cannot be moved out of it.
        choices = limit_choices(request.user, db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Exports

    def is_ledger(self) -> bool:
        if self.ledger_export is not None:
            return self.ledger_export
        return self.opts.label_lower in LEDGER_MODELS

    def get_export_fields(self, request) -> list[str]:
        return list(self.export_fields or self.get_list_display(request))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.is_ledger() and self.has_view_permission(request) and actions is not None:
            actions["export_xlsx"] = self.get_action("export_xlsx")
        return actions

    def record_export(self, request, objects: list[Any]) -> None:
        """Admins whose rows are someone's personal details write the export to the audit log."""

    @admin.action(description="导出所选为 Excel 台账")
    def export_xlsx(self, request, queryset):
        # The queryset is the changelist's: already limited to the user's scope.
        objects = list(queryset[:EXPORT_MAX_ROWS])
        self.record_export(request, objects)
        body = ledger_workbook(self, request, objects)
        name = f"{force_str(self.opts.verbose_name_plural)}-{timezone.localdate():%Y%m%d}.xlsx"
        response = HttpResponse(body, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        response["Cache-Control"] = "no-store"
        return response
