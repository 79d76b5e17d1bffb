"""The console for 接诉即办: the appeals in scope, their steps, and the workflow buttons.

Nothing is edited in place: every change goes through the services (the same rules, deadlines
and events as the API). Staff register hotline tickets and filings for residents on the add page.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backend.accounts.audit import record_access
from backend.accounts.models import Role, User, mask_phone
from backend.communities.models import Community, Estate
from backend.core.console import ScopedAdmin, problem_column
from backend.core.errors import DomainError
from backend.core.moderation import REVIEW_FIELD, with_review
from backend.core.phones import phone_validator
from backend.core.scoping import limit_choices, scope_q

from . import selectors, services
from .models import Appeal, AppealStep

Kind = AppealStep.Kind

# The buttons on an appeal's page: (step, label, needs the manager's power rather than a handler's).
# The content check's flag as the handlers read it (backend/core/moderation.py).
CONTENT_FLAGS = {"rejected": "微信判定违规", "review": "待复核", "pending": "检测中"}

WORKFLOW_STEPS = [
    (Kind.ACCEPTED, "受理", False),
    (Kind.REPLIED, "答复", False),
    (Kind.RESOLVED, "办结", False),
    (Kind.REJECTED, "不予受理", False),
    (Kind.ASSIGNED, "交办", True),
]


def _assignable_users(community_id: int):
    return (
        User.objects.filter(
            Q(
                role_grants__role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF],
                role_grants__community_id=community_id,
            )
            | Q(role_grants__role=Role.GRID_WORKER, role_grants__grid__community_id=community_id),
            role_grants__revoked_at__isnull=True,
            is_active=True,
        )
        .distinct()
        .order_by("real_name", "id")
    )


def _rows_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """A field choosing rows, whose choices the form narrows to the caller's."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name} does not choose rows")
    return field


class WorkflowForm(forms.Form):
    step = forms.ChoiceField(choices=[(step, label) for step, label, _manager in WORKFLOW_STEPS])
    content = forms.CharField(
        label="内容",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="答复内容、办理结果或不予受理的理由",
    )
    assignee = forms.ModelChoiceField(label="承办人", queryset=User.objects.none(), required=False)

    def __init__(self, *args, appeal: Appeal, **kwargs):
        super().__init__(*args, **kwargs)
        _rows_field(self, "assignee").queryset = _assignable_users(appeal.community_id)


class IntakeForm(forms.Form):
    """A 12345 ticket or a resident's problem taken down by staff."""

    client_id = forms.UUIDField(widget=forms.HiddenInput, help_text="keeps a double submit from filing twice")
    source = forms.ChoiceField(
        label="来源", choices=[(Appeal.Source.HOTLINE, "12345热线"), (Appeal.Source.GRID_WORKER, "代居民登记")]
    )
    ticket_number = forms.CharField(label="12345 工单号", max_length=64, required=False)
    community = forms.ModelChoiceField(label="社区", queryset=Community.objects.none())
    estate = forms.ModelChoiceField(label="小区", queryset=Estate.objects.none(), required=False)
    place = forms.CharField(label="地点", max_length=200, required=False)
    category = forms.ChoiceField(label="类别", choices=Appeal.Category.choices)
    urgency = forms.ChoiceField(label="紧急程度", choices=Appeal.Urgency.choices, initial=Appeal.Urgency.GENERAL)
    content = forms.CharField(label="诉求内容", max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))
    contact_name = forms.CharField(label="联系人", max_length=50, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=20, validators=[phone_validator])

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        communities = limit_choices(user, Community)
        communities = Community.objects.all() if communities is None else communities
        _rows_field(self, "community").queryset = communities
        _rows_field(self, "estate").queryset = Estate.objects.filter(community__in=communities)
        if not self.is_bound:
            self.initial["client_id"] = uuid.uuid4()


STEP_FIELDS = ("at", "kind", "actor", "assignee", "content")


class AppealStepInline(admin.TabularInline):
    model = AppealStep
    extra = 0
    fields = STEP_FIELDS
    readonly_fields = STEP_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "assignee")


@admin.register(Appeal)
class AppealAdmin(ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "community", "street": "community__street", "grid": "grid"}
    scope_options = {"include_grid_workers": True}
    list_display = [
        "id",
        "category",
        "urgency",
        "community",
        "grid",
        "status",
        "contact_name",
        "masked_phone",
        "submitted_at",
        "respond_due_at",
        "resolve_due_at",
        "respond_late",
        "resolve_late",
        "assignee",
        "content_flag",
    ]
    respond_late = problem_column("respond_overdue", description="响应超时", problem="响应超时")
    resolve_late = problem_column("resolve_overdue", description="办结超时", problem="办结超时")
    list_filter = ["status", "category", "urgency", "source", "respond_overdue", "resolve_overdue", "community"]
    search_fields = ["content", "place", "ticket_number", "contact_name"]
    date_hierarchy = "submitted_at"
    fields = [
        "source",
        "ticket_number",
        "community",
        "grid",
        "estate",
        "place",
        "category",
        "urgency",
        "content",
        "contact_name",
        "contact_phone",
        "status",
        "assignee",
        "filed_by",
        "submitted_at",
        "respond_due_at",
        "resolve_due_at",
        "accepted_at",
        "replied_at",
        "resolved_at",
        "rejected_at",
        "rated_at",
        "closed_at",
        "respond_overdue",
        "resolve_overdue",
        "score",
        "comment",
    ]
    readonly_fields = fields
    inlines = [AppealStepInline]
    actions = ["accept_selected"]

    def get_queryset(self, request):
        qs: QuerySet[Appeal] = admin.ModelAdmin.get_queryset(self, request).select_related(
            "community", "grid", "assignee"
        )
        qs = with_review(qs, holds=False)
        return qs.filter(scope_q(request.user, **self.scope_paths, **self.scope_options) | Q(assignee=request.user))

    def has_view_permission(self, request, obj=None):
        return selectors.is_handler(request.user)

    # Appeals change only through the workflow (the services), and the record is never deleted.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return selectors.is_handler(request.user)

    @admin.display(description="联系电话")
    def masked_phone(self, obj: Appeal) -> str:
        return mask_phone(obj.contact_phone) or ""

    @admin.display(description="内容安全")
    def content_flag(self, obj: Appeal) -> str:
        # WeChat's verdict on the text, photos and rating comment; nothing is hidden from handlers.
        return CONTENT_FLAGS.get(getattr(obj, REVIEW_FIELD, None) or "", "")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="{}_{}_workflow".format(*info),
            ),
            *super().get_urls(),
        ]

    def _steps_for(self, request, appeal: Appeal) -> list[tuple[str, str]]:
        manager = selectors.may_manage(request.user, appeal)
        handler = selectors.may_handle(request.user, appeal)
        return [
            (step, label)
            for step, label, needs_manager in WORKFLOW_STEPS
            if appeal.status in services.ALLOWED_FROM[step] and (manager if needs_manager else handler)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appeal = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if appeal is not None:
            steps = self._steps_for(request, appeal)
            if steps:
                extra_context["workflow_form"] = WorkflowForm(appeal=appeal)
                extra_context["workflow_steps"] = steps
            if request.method == "GET" and appeal.resident_id not in (None, request.user.pk):
                # The change page shows the resident's phone in full: a read of someone else's details.
                record_access(
                    actor=request.user,
                    subject=appeal.resident_id,
                    what="appeal",
                    object_id=appeal.pk,
                    path=request.get_full_path(),
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        appeal = self.get_object(request, unquote(object_id))
        if appeal is None:
            raise Http404
        form = WorkflowForm(request.POST, appeal=appeal)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
        else:
            self._take_step(request, appeal, form.cleaned_data)
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    def _take_step(self, request, appeal: Appeal, data: dict) -> None:
        step, content, by = data["step"], data["content"], request.user
        try:
            if step == Kind.ACCEPTED:
                services.accept(appeal=appeal, by=by, content=content)
            elif step == Kind.REPLIED:
                services.reply(appeal=appeal, by=by, content=content)
            elif step == Kind.RESOLVED:
                services.resolve(appeal=appeal, by=by, content=content)
            elif step == Kind.REJECTED:
                services.reject(appeal=appeal, by=by, reason=content)
            elif step == Kind.ASSIGNED:
                if data["assignee"] is None:
                    self.message_user(request, "请选择承办人", messages.ERROR)
                    return
                services.assign(appeal=appeal, by=by, assignee=data["assignee"], content=content)
        except DomainError as exc:
            details = [message for messages_ in (exc.fields or {}).values() for message in messages_]
            self.message_user(request, "; ".join(details) or str(exc.detail), messages.ERROR)
            return
        self.message_user(request, f"{appeal}: 已{Kind(step).label}", messages.SUCCESS)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IntakeForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                appeal, _created = services.submit_appeal(
                    by=request.user,
                    client_id=data["client_id"],
                    source=data["source"],
                    ticket_number=data["ticket_number"],
                    community=data["community"],
                    estate=data["estate"],
                    place=data["place"],
                    category=data["category"],
                    urgency=data["urgency"],
                    content=data["content"],
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                )
            except DomainError as exc:
                if not exc.fields:
                    form.add_error(None, str(exc.detail))
                for field, errors in (exc.fields or {}).items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                self.message_user(request, f"已登记 {appeal}", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[appeal.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "登记诉求",
            "opts": self.opts,
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/appeals/appeal/intake_form.html", context)

    @admin.action(description="受理所选诉求")
    def accept_selected(self, request, queryset):
        done = 0
        for appeal in queryset:
            try:
                services.accept(appeal=appeal, by=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{appeal}: {exc.detail}", messages.WARNING)
        if done:
            self.message_user(request, f"已受理 {done} 件诉求", messages.SUCCESS)
