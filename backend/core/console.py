"""The console's domain-free base (Django admin, themed by django-unfold): the site, the scoped
ModelAdmin every app's admin uses, the page that asks an action for a reason, and the Excel export
of ledger lists.

What names the apps (the sidebar by task, the dashboard, the check-in screen, imports) lives in the
console app above them all, `backend/console/`. docs/console.md describes the whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import display_for_field, display_for_value, get_fields_from_path, label_for_field
from django.contrib.admin.utils import lookup_field as admin_lookup_field
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm as BaseAuthenticationForm
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.html import format_html, strip_tags
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from unfold import widgets as unfold_widgets
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.decorators import action as unfold_action
from unfold.enums import ActionVariant
from unfold.forms import ActionForm as UnfoldActionForm
from unfold.forms import AuthenticationForm as UnfoldAuthenticationForm
from unfold.sites import UnfoldAdminSite

from .changelist import DeclaredFiltersChangeList
from .errors import DomainError
from .scoping import get_scope, limit_choices, scope_q
from .throttling import CounterThrottle, FormLoginPhoneThrottle, LoginAddressThrottle
from .xlsx import workbook_bytes

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def form_login_wait(request: HttpRequest, phone: str | None) -> int | None:
    """A password sign-in through a form (the console's): counted on the API login's counters, per
    client address and per account phone, so guessing cannot alternate between the two. The seconds
    to wait when the attempt is refused, None when it may go on."""
    throttles: list[CounterThrottle] = [LoginAddressThrottle(), FormLoginPhoneThrottle(phone)]
    # Every throttle counts the attempt, as DRF's check_throttles runs them all.
    waits = [throttle.wait() for throttle in throttles if not throttle.allow_request(request, None)]
    return max(waits) if waits else None


class ConsoleAuthenticationForm(UnfoldAuthenticationForm):
    """Holding a role opens the console; Django's is_staff flag, which role grants never set, does not.

    Every attempt counts against the API login's throttles (per address, per phone) before the
    password is checked: a throttled one is refused whatever the password."""

    def clean(self):
        # The phone as the form normalised it (trimmed, NFKC: full-width digits are the same account).
        phone = self.cleaned_data.get("username")
        wait = form_login_wait(self.request, phone) if self.request is not None else None
        if wait is not None:
            raise ValidationError(
                _("登录尝试过于频繁，请 %(seconds)s 秒后再试。"), code="throttled", params={"seconds": wait}
            )
        return super().clean()

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
    # The dashboard; its figures come from UNFOLD["DASHBOARD_CALLBACK"] (backend/console/dashboard.py).
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


# Ledger exports ----------------------------------------------------------------------------------

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


def ledger_workbook(model_admin: ScopedAdmin, request: HttpRequest, objects: Iterable[Any]) -> bytes:
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


# Forms the console asks (reasons, comments, a certificate's details) -----------------------------

# A plain Django widget renders bare in unfold's theme (an input with no border, a button like text):
# each is swapped for unfold's own, keeping its attributes.
UNFOLD_WIDGETS: dict[type[forms.Widget], type[forms.Widget]] = {
    forms.Textarea: unfold_widgets.UnfoldAdminTextareaWidget,
    forms.TextInput: unfold_widgets.UnfoldAdminTextInputWidget,
    forms.NumberInput: unfold_widgets.UnfoldAdminIntegerFieldWidget,
    forms.EmailInput: unfold_widgets.UnfoldAdminEmailInputWidget,
    forms.Select: unfold_widgets.UnfoldAdminSelectWidget,
    forms.DateInput: unfold_widgets.UnfoldAdminSingleDateWidget,
    forms.DateTimeInput: unfold_widgets.UnfoldAdminTextInputWidget,
    forms.CheckboxInput: unfold_widgets.UnfoldBooleanWidget,
}


def styled(form: forms.BaseForm) -> forms.BaseForm:
    """The form with unfold's widgets in place of Django's plain ones."""
    for field in form.fields.values():
        replacement = UNFOLD_WIDGETS.get(type(field.widget))
        if replacement is None:
            continue
        widget = replacement(attrs=dict(field.widget.attrs))
        if hasattr(field, "choices"):
            widget.choices = field.choices  # type: ignore[attr-defined]  # a choice widget, as the field has choices
        if isinstance(field.widget, forms.DateTimeInput):
            widget.attrs.setdefault("placeholder", "如 2026-03-01 09:00")
        widget.is_required = field.widget.is_required
        field.widget = widget
    return form


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
        "form": styled(form),
        "action_name": action_name,
        "submit_label": submit_label,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "console/action_form.html", context)


def _refusal(exc: DomainError) -> str:
    """A service's refusal as one line for the console's message bar."""
    details = [str(message) for errors in (exc.fields or {}).values() for message in errors]
    return "; ".join(details) or str(exc.detail)


def not_found(request: HttpRequest) -> TemplateResponse:
    """The console's own "not found" page: a row outside the user's scope answers as a missing one,
    inside the console's frame, never Django's DEBUG page."""
    context = {**admin.site.each_context(request), "title": "未找到"}
    return TemplateResponse(request, "console/not_found.html", context, status=404)


def console_view(view):
    """A console page whose Http404 (another community's activity, say) is the console's 404 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return not_found(request)

    return wrapped


# Columns ------------------------------------------------------------------------------------------


def problem_column(field_name: str, *, description: str, problem: str):
    """A flag column that reads as what it is, a problem: "⚠ 时段重叠" when set, nothing otherwise
    (unfold draws a bare boolean as a green ✓, which looked like an all-clear)."""

    @admin.display(description=description, ordering=field_name)
    def column(self, obj):
        if not getattr(obj, field_name):
            return ""
        return format_html('<span class="console-problem">⚠ {}</span>', problem)

    return column


# Decisions on one row: a button on its page (and in its list row) --------------------------------


class ConfirmForm(forms.Form):
    """A decision that needs nothing but the click."""


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def decision(
    name: str,
    *,
    description: str,
    run: Callable[[Any, dict[str, Any], Any], Any],
    title: str,
    intro: str,
    done: str,
    submit_label: str = "",
    applies: Callable[[Any], bool] | None = None,
    reject: bool = False,
    icon: str | None = None,
    form_class: type[forms.Form] | None = None,
    form_kwargs: Callable[[HttpRequest], dict[str, Any]] | None = None,
):
    """One decision on one row, declared once: the unfold detail/row button (permission "decide")
    and the page it opens. `name` is the attribute it is assigned to (unfold finds it by name);
    `run(obj, cleaned_data, user)` calls the service. A `reject` asks for a reason by default and
    is drawn as a danger button.

    `applies(obj)` says when the button shows on the row's page (a pending registration, a draft
    activity); the page itself does not trust it: the service decides, as for the API.
    """

    def view(self, request, object_id):
        return decision_page(
            self,
            request,
            object_id,
            run=lambda obj, data: run(obj, data, request.user),
            title=title,
            intro=intro,
            submit_label=submit_label or description,
            done=done,
            form_class=form_class or (ReasonForm if reject else ConfirmForm),
            form_kwargs=form_kwargs(request) if form_kwargs else None,
            danger=reject,
        )

    view.__name__ = view.__qualname__ = name
    action = unfold_action(
        description=description,
        permissions=["decide"],
        variant=ActionVariant.DANGER if reject else ActionVariant.PRIMARY,
        icon=icon or ("close" if reject else "check"),
    )(view)
    action.applies = applies
    return action


def decision_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    object_id: str,
    *,
    run: Any,
    title: str,
    intro: str,
    submit_label: str,
    done: str,
    form_class: type[forms.Form] = ConfirmForm,
    form_kwargs: dict[str, Any] | None = None,
    danger: bool = False,
) -> HttpResponse:
    """GET asks (what the decision needs, nothing more); POST runs `run(obj, cleaned_data)`, the
    same service the API calls, writes the step to the row's history and goes back to its page.

    The row is read through the admin's scoped queryset: outside scope it is a 404. A refusal of the
    service is shown on the form and nothing is written.
    """
    obj = modeladmin.get_object(request, admin.utils.unquote(object_id))
    if obj is None:
        return not_found(request)
    opts = modeladmin.model._meta
    back = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    form_kwargs = form_kwargs or {}
    if request.method == "POST":
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                run(obj, form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.detail)
                for messages_ in (exc.fields or {}).values():
                    for message in messages_:
                        form.add_error(None, message)
            else:
                reason = form.cleaned_data.get("reason") or form.cleaned_data.get("comments") or ""
                modeladmin.log_change(request, obj, f"{submit_label}{f': {reason}' if reason else ''}")
                modeladmin.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(back)
    else:
        form = form_class(**form_kwargs)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": opts,
        "original": obj,
        "form": styled(form),
        "submit_label": submit_label,
        "back": back,
        "danger": danger,
    }
    return TemplateResponse(request, "console/decision.html", context)


class ScopedAdmin(UnfoldModelAdmin):
    """A ModelAdmin that shows and changes only rows inside the user's scope.

    Subclasses name the lookup paths (`scope_paths = {"community": "community"}`) as for
    `scope_q`; rows outside scope are absent from lists and their change pages answer 404.
    Superusers see and change everything. Staff write only through the services the API uses:
    they may add or change (`staff_can_add`, `staff_can_edit`) only where the admin defines its
    own `save_model` (which calls the service) or its own add / change page, and delete
    (`staff_can_delete`) only where it defines `delete_model` or its own delete page; elsewhere the
    admin is read-only for them, whatever the flags say. A
    DomainError from a service is shown on the page, and the request's transaction rolls back.
    Ledger lists (`ledger_export = True`) offer an Excel export of the rows chosen.

    A list takes only the query parameters it offers (DeclaredFiltersChangeList); `url_filters`
    names a lookup a link of the console's own uses that no list filter offers. Search never
    reaches a phone or an ID column: `staff_search_fields` (exact matches, `=phone`) are searched
    for staff and superusers only, who see those values in full anyway.
    """

    scope_paths: dict[str, str] = {"community": "community"}
    scope_options: dict[str, bool] = {}
    staff_can_add = True
    staff_can_edit = True
    staff_can_delete = False
    ledger_export = False  # a ledger secretaries keep in Excel: the list offers the export action
    export_fields: list[str] | None = None
    # Export fields that hold a full phone number, each with the masked field the list shows: only
    # staff in scope get the full one, anyone else (a unit liaison, a grid worker) the masked one.
    full_phone_fields: dict[str, str] = {}
    action_form: type[forms.Form]  # set on ModelAdmin; declared here for the check in __init__
    url_filters: tuple[str, ...] = ()
    staff_search_fields: tuple[str, ...] = ()

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

    @classmethod
    def writes_through_services(cls, write: str) -> bool:
        """Whether the admin's `write` ("add", "change", "delete") reaches a service: it defines its
        own save_model / delete_model (which call one) or its own page for it, never a bare form save."""
        hooks = {
            "add": ("save_model", "add_view"),
            "change": ("save_model", "change_view"),
            "delete": ("delete_model", "delete_view"),
        }[write]
        return any(getattr(cls, hook) is not getattr(ScopedAdmin, hook) for hook in hooks)

    def has_add_permission(self, request):
        scope = self._scope(request)
        return scope.is_superuser or (self.staff_can_add and self.writes_through_services("add") and scope.is_staff)

    def has_change_permission(self, request, obj=None):
        scope = self._scope(request)
        return scope.is_superuser or (self.staff_can_edit and self.writes_through_services("change") and scope.is_staff)

    def has_delete_permission(self, request, obj=None):
        scope = self._scope(request)
        return scope.is_superuser or (
            self.staff_can_delete and self.writes_through_services("delete") and scope.is_staff
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # The service refused after the form passed: nothing was written (the view's
            # transaction rolled back); say why on the same page.
            self.message_user(request, _refusal(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, _refusal(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_decide_permission(self, request, obj=None):
        """Who may take the row's decisions (approve, reject, publish): staff of its place; the
        row itself is found through the scoped queryset, and the service checks again."""
        scope = self._scope(request)
        return scope.is_superuser or scope.is_staff

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        obj = self.get_object(request, admin.utils.unquote(str(object_id)))
        return [
            action
            for action in actions
            if getattr(action.method, "applies", None) is None or (obj is not None and action.method.applies(obj))
        ]

    def get_changelist(self, request, **kwargs):
        return DeclaredFiltersChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if isinstance(response, HttpResponseRedirect) and response.url == f"{request.path}?{ERROR_FLAG}=1":
            self.message_user(request, "筛选条件无效, 已显示全部。", messages.WARNING)
        return response

    def get_search_fields(self, request):
        fields = list(super().get_search_fields(request))
        scope = self._scope(request)
        if scope.is_superuser or scope.is_staff:
            fields.extend(self.staff_search_fields)
        return fields

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
        return bool(self.ledger_export)

    def get_export_fields(self, request) -> list[Any]:
        names = list(self.export_fields or self.get_list_display(request))
        return [self._phone_column(request, name) if name in self.full_phone_fields else name for name in names]

    def gets_full_phone(self, request, obj) -> bool:
        """Whether the export may show `obj`'s full phone: staff (the row is in their scope, since
        the export's queryset is the changelist's). Admins whose rows a non-staff role also sees
        narrow this per row."""
        return self._scope(request).is_staff

    def _phone_column(self, request, name: str) -> Callable[[Any], Any]:
        masked = self.full_phone_fields[name]

        def phone(obj):
            return admin_lookup_field(name if self.gets_full_phone(request, obj) else masked, obj, self)[2]

        phone.short_description = label_for_field(name, self.model, model_admin=self)  # type: ignore[attr-defined]  # the admin's column title
        return phone

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


def form_error_from(exc: DomainError, known: set[str]) -> ValidationError:
    """A service's DomainError as a form's error: on its fields where the form has them."""
    if exc.fields:
        errors: dict[str, list[str]] = {}
        for name, texts in exc.fields.items():
            errors.setdefault(name if name in known else "__all__", []).extend(texts)
        return ValidationError(errors)
    return ValidationError(str(exc.detail))
