"""The console for volunteer hours: volunteers, teams, records with approve / reject / correct, and
certificates with issue / revoke. Records and certificates are never edited in place: every change
goes through the services (the same rules, locks and events as the API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from backend.accounts.audit import record_access
from backend.accounts.models import User
from backend.communities.models import Community
from backend.core.console import ScopedAdmin, action_form_page, decision, problem_column
from backend.core.errors import DomainError
from backend.core.fields import BoundedFormDateField, BoundedFormDateTimeField
from backend.core.scoping import limit_choices

from . import documents, selectors, services
from .models import Certificate, IdType, RecordCorrection, ServiceRecord, Volunteer, VolunteerTeam

STREET_OR_COMMUNITY = {"community": "community", "street": "community__street"}


def _run_action(modeladmin: admin.ModelAdmin, request, objects, call, done: str) -> None:
    """Apply a service to each selected row; one refusal does not stop the others."""
    ok = 0
    for obj in objects:
        try:
            call(obj)
        except DomainError as exc:
            fields = "; ".join(message for messages_ in (exc.fields or {}).values() for message in messages_)
            modeladmin.message_user(request, f"{obj}: {fields or exc.detail}", messages.ERROR)
        else:
            ok += 1
    if ok:
        modeladmin.message_user(request, done.format(count=ok), messages.SUCCESS)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class ApproveRecordForm(forms.Form):
    confirm_flags = forms.BooleanField(label="已复核(时段重叠或超时长的记录)", required=False)


class CorrectionForm(forms.Form):
    started_at = BoundedFormDateTimeField(label="更正后开始时间", help_text="如 2026-03-01 09:00")
    ended_at = BoundedFormDateTimeField(label="更正后结束时间")
    reason = forms.CharField(label="更正原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class IssueForm(forms.Form):
    community = forms.ModelChoiceField(label="出具社区", queryset=Community.objects.none())
    period_start = BoundedFormDateField(label="服务期间起", help_text="如 2026-01-01")
    period_end = BoundedFormDateField(label="服务期间止")
    service_summary = forms.CharField(
        label="服务内容", max_length=500, required=False, help_text="空: 取所含记录的服务内容"
    )
    person_in_charge = forms.CharField(label="负责人", max_length=50, required=False, help_text="空: 社区书记")
    contact = forms.CharField(label="联系电话", max_length=50, required=False, help_text="空: 经办人手机号")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        choices = limit_choices(user, Community)
        field = self.fields["community"]
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = choices if choices is not None else Community.objects.all()


class IdNumberForm(forms.Form):
    """What the paper registration form gives: the document, and the volunteer's signature under the
    privacy notice (attested by the staff member typing it in)."""

    id_type = forms.ChoiceField(label="证件类型", choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(
        label="证件号码", max_length=32, help_text="居民身份证为18位, 末位校验码; 保存后只显示脱敏号码"
    )
    consent = forms.BooleanField(label="同意", required=True)
    # The version the secretary was shown: a notice changed meanwhile is refused, as for the app.
    consent_version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        version = services.privacy_notice_version()
        self.fields["consent_version"].initial = version
        self.fields["consent"].label = f"志愿者已在纸质登记表上签字, 同意现行隐私政策(版本 {version})"


def _record_id_number(volunteer: Volunteer, by: User, data: dict[str, Any]) -> Volunteer:
    return documents.record_id_number(
        volunteer=volunteer,
        by=by,
        id_type=data["id_type"],
        id_number=data["id_number"],
        consent=data["consent"],
        consent_version=data["consent_version"],
    )


def _issue(volunteer: Volunteer, by: User, data: dict[str, Any]) -> tuple[Certificate, bool]:
    return services.issue_certificate(
        volunteer=volunteer,
        community=data["community"],
        by=by,
        period_start=data["period_start"],
        period_end=data["period_end"],
        service_summary=data["service_summary"],
        person_in_charge=data["person_in_charge"] or None,
        contact=data["contact"] or None,
    )


# Volunteers --------------------------------------------------------------------------------------


class NoAddInConsole:
    """Rows only a service makes (registration, issuing from a volunteer's page): no add form, for
    superusers either (a bare form would skip every rule and fail on what it cannot fill)."""

    def has_add_permission(self, request):
        return False


@admin.register(Volunteer)
class VolunteerAdmin(NoAddInConsole, ScopedAdmin):
    ledger_export = True
    scope_paths = STREET_OR_COMMUNITY
    staff_can_add = False
    staff_can_edit = False
    list_display = ["volunteer_number", "real_name", "community", "id_number_masked", "registered_on", "total_hours"]
    list_filter = ["community", "registered_via"]
    search_fields = ["volunteer_number", "real_name"]
    fields = [
        "user",
        "volunteer_number",
        "real_name",
        "community",
        "skills",
        "id_type",
        "id_number_masked",
        "consent_version",
        "consent_at",
        "registered_via",
        "registered_on",
    ]
    readonly_fields = fields
    actions = ["issue_certificate"]
    actions_detail = ["record_id_number", "issue_one"]

    record_id_number = decision(
        "record_id_number",
        description="登记证件号码",
        icon="badge",
        run=lambda volunteer, data, user: _record_id_number(volunteer, user, data),
        form_class=IdNumberForm,
        title="登记志愿者证件号码",
        intro="按志愿者签字的纸质登记表填写; 号码加密保存, 页面和列表只显示脱敏号码, 志愿服务证明上打印完整号码:",
        submit_label="保存",
        done="已登记证件号码",
    )

    issue_one = decision(
        "issue_one",
        description="出具志愿服务证明",
        icon="workspace_premium",
        run=lambda volunteer, data, user: _issue(volunteer, user, data),
        form_class=IssueForm,
        form_kwargs=lambda request: {"user": request.user},
        title="出具志愿服务证明",
        intro="按所选期间内本社区审核通过的服务时长出具证明:",
        submit_label="出具",
        done="已出具志愿服务证明",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("community")
            .annotate(hours_total=selectors.total_hours_subquery())
        )

    @admin.display(description="累计服务时长(小时)", ordering="hours_total")
    def total_hours(self, obj: Volunteer) -> Decimal:
        return obj.hours_total  # type: ignore[attr-defined]  # annotated by get_queryset

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        volunteer = getattr(response, "context_data", {}).get("original")
        if volunteer is not None:
            record_access(actor=request.user, subject=volunteer.user_id, what="volunteer", object_id=volunteer.pk)
        return response

    @admin.action(description="出具志愿服务证明")
    def issue_certificate(self, request, queryset):
        if "apply" in request.POST:
            form = IssueForm(request.POST, user=request.user)
            if form.is_valid():
                data = form.cleaned_data
                _run_action(
                    self,
                    request,
                    queryset,
                    lambda volunteer: _issue(volunteer, request.user, data),
                    "已出具 {count} 份志愿服务证明",
                )
                return None
        else:
            form = IssueForm(user=request.user)
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="出具志愿服务证明",
            intro="按所选期间内本社区审核通过的服务时长, 为以下志愿者出具证明:",
            action_name="issue_certificate",
            submit_label="出具",
        )


@admin.register(VolunteerTeam)
class VolunteerTeamAdmin(ScopedAdmin):
    scope_paths = STREET_OR_COMMUNITY
    staff_can_delete = True
    list_display = ["name", "community", "leader", "member_count"]
    list_filter = ["community"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    autocomplete_fields: list[str] = []

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("community", "leader")

    @admin.display(description="队员人数")
    def member_count(self, obj: VolunteerTeam) -> int:
        return obj.members.count()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "leader":
            kwargs["queryset"] = selectors.visible_volunteers(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            kwargs["queryset"] = selectors.visible_volunteers(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


# Service records ---------------------------------------------------------------------------------


CORRECTION_FIELDS = (
    "previous_started_at",
    "previous_ended_at",
    "previous_hours",
    "started_at",
    "ended_at",
    "hours",
    "reason",
    "corrected_by",
    "corrected_at",
)


class CorrectionInline(admin.TabularInline):
    model = RecordCorrection
    extra = 0
    can_delete = False
    fields = CORRECTION_FIELDS
    readonly_fields = CORRECTION_FIELDS

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceRecord)
class ServiceRecordAdmin(ScopedAdmin):
    ledger_export = True
    scope_paths = STREET_OR_COMMUNITY
    staff_can_add = False
    staff_can_edit = False
    list_display = [
        "id",
        "volunteer",
        "content",
        "community",
        "started_at",
        "ended_at",
        "hours",
        "source",
        "status",
        "overlap",
        "over_cap",
    ]
    list_filter = ["status", "source", "overlap_flag", "over_cap_flag", "community"]
    search_fields = ["content", "volunteer__real_name", "volunteer__volunteer_number"]
    date_hierarchy = "started_at"
    fields = [
        "volunteer",
        "community",
        "activity",
        "content",
        "place",
        "reported_started_at",
        "reported_ended_at",
        "started_at",
        "ended_at",
        "hours",
        "source",
        "status",
        "overlap_flag",
        "over_cap_flag",
        "evidence",
        "created_at",
        "approved_by",
        "approved_at",
        "rejected_by",
        "rejected_at",
        "reject_reason",
    ]
    readonly_fields = fields
    inlines = [CorrectionInline]
    actions = ["approve", "approve_flagged", "reject", "correct"]
    overlap = problem_column("overlap_flag", description="时段重叠", problem="时段重叠, 需复核")
    over_cap = problem_column("over_cap_flag", description="超时长", problem="超过单日上限, 需复核")
    actions_detail = ["approve_one", "reject_one"]
    actions_row = ["approve_one", "reject_one"]

    # On its own page the secretary has read the record: a flagged one (overlap, over the cap) is
    # approved once she ticks it as reviewed.
    approve_one = decision(
        "approve_one",
        description="审核通过",
        applies=lambda obj: obj.status == ServiceRecord.Status.PENDING,
        run=lambda record, data, user: services.approve_record(
            record=record, by=user, confirm_flags=data.get("confirm_flags", False)
        ),
        form_class=ApproveRecordForm,
        title="审核通过服务记录",
        intro="通过后计入志愿者的服务时长; 标记为需复核(时段重叠或超时长)的记录须勾选已复核:",
        submit_label="通过",
        done="已通过服务记录",
    )
    reject_one = decision(
        "reject_one",
        description="驳回",
        reject=True,
        applies=lambda obj: obj.status == ServiceRecord.Status.PENDING,
        run=lambda record, data, user: services.reject_record(record=record, by=user, reason=data["reason"]),
        title="驳回服务记录",
        intro="驳回后不计入服务时长, 原因会告知志愿者:",
        done="已驳回服务记录",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("volunteer", "community")

    @admin.action(description="审核通过所选记录(需复核的记录除外)")
    def approve(self, request, queryset):
        flagged = [record for record in queryset if record.is_flagged]
        if flagged:
            self.message_user(
                request, f"{len(flagged)} 条记录被标记为需复核, 未通过; 请逐条核实后用“复核后通过”", messages.WARNING
            )
        _run_action(
            self,
            request,
            [record for record in queryset if not record.is_flagged],
            lambda record: services.approve_record(record=record, by=request.user),
            "已通过 {count} 条记录",
        )

    @admin.action(description="复核后通过(时段重叠或超时长的记录)")
    def approve_flagged(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda record: services.approve_record(record=record, by=request.user, confirm_flags=True),
            "已复核通过 {count} 条记录",
        )

    @admin.action(description="驳回所选记录(填写原因)")
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                _run_action(
                    self,
                    request,
                    queryset,
                    lambda record: services.reject_record(record=record, by=request.user, reason=reason),
                    "已驳回 {count} 条记录",
                )
                return None
        else:
            form = ReasonForm()
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="驳回服务记录",
            intro="以下记录将被驳回, 不计入服务时长:",
            action_name="reject",
            submit_label="驳回",
        )

    @admin.action(description="更正服务时间(单条)")
    def correct(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "请只选择一条记录进行更正", messages.ERROR)
            return None
        if "apply" in request.POST:
            form = CorrectionForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                _run_action(
                    self,
                    request,
                    queryset,
                    lambda record: services.correct_record(
                        record=record,
                        by=request.user,
                        started_at=data["started_at"],
                        ended_at=data["ended_at"],
                        reason=data["reason"],
                    ),
                    "已更正 {count} 条记录(原记录保留)",
                )
                return None
        else:
            record = queryset.first()
            form = CorrectionForm(initial={"started_at": record.started_at, "ended_at": record.ended_at})
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="更正服务时间",
            intro="更正以新记录追加, 原始时间和以往更正均保留; 已出具的证明不受影响:",
            action_name="correct",
            submit_label="更正",
        )


# Certificates ------------------------------------------------------------------------------------


@admin.register(Certificate)
class CertificateAdmin(NoAddInConsole, ScopedAdmin):
    ledger_export = True
    scope_paths = STREET_OR_COMMUNITY
    staff_can_add = False
    staff_can_edit = False
    list_display = [
        "number",
        "volunteer_name",
        "community",
        "period_start",
        "period_end",
        "hours",
        "issued_on",
        "revoked_at",
    ]
    list_filter = ["community"]
    search_fields = ["number", "volunteer_name", "volunteer_number"]
    fields = [
        "number",
        "volunteer",
        "community",
        "volunteer_name",
        "volunteer_number",
        "id_type",
        "id_number_masked",
        "period_start",
        "period_end",
        "hours",
        "record_count",
        "service_summary",
        "issuer_name",
        "person_in_charge",
        "handling_officer",
        "contact",
        "issued_by",
        "issued_at",
        "issued_on",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "pdf_link",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("community")

    @admin.display(description="打印")
    def pdf_link(self, obj: Certificate) -> str:
        url = reverse("volunteer-certificate-pdf", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">下载 PDF</a>', url)

    @admin.action(description="作废所选证明(填写原因)")
    def revoke(self, request, queryset):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                _run_action(
                    self,
                    request,
                    queryset,
                    lambda certificate: services.revoke_certificate(
                        certificate=certificate, by=request.user, reason=reason
                    ),
                    "已作废 {count} 份证明",
                )
                return None
        else:
            form = ReasonForm()
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="作废志愿服务证明",
            intro="以下证明将被作废, 核验时显示为已作废:",
            action_name="revoke",
            submit_label="作废",
        )
