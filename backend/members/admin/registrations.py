"""Members and the 双报到 of members and units: lists, pages and decisions."""

from __future__ import annotations

from django.contrib import admin

from backend.core.console import ScopedAdmin
from backend.core.scoping import get_scope

from .. import selectors, services
from ..models import (
    MemberRegistration,
    PartyMember,
    UnitRegistration,
)
from ._common import AuditedMixin, ReadOnlyMixin, RevokeForm, _registration_decisions, _reject, _run


class RegistrationStateFilter(admin.SimpleListFilter):
    title = "报到状态"
    parameter_name = "registration_status"

    def lookups(self, request, model_admin):
        return [
            (MemberRegistration.Status.APPROVED, "已报到"),
            (MemberRegistration.Status.PENDING, "待审核"),
            (selectors.NOT_REGISTERED, "未报到"),
        ]

    def queryset(self, request, queryset):
        return queryset.filter(registration_status=self.value()) if self.value() else queryset


REGISTRATION_STATE_LABELS = {**dict(MemberRegistration.Status.choices), selectors.NOT_REGISTERED: "未报到"}


@admin.register(PartyMember)
class PartyMemberAdmin(AuditedMixin, ReadOnlyMixin, ScopedAdmin):
    """Staff find approved members here (applicants are under 党员双报到); each row says its 报到状态."""

    ledger_export = True
    audit_what = "party_member"
    list_display = [
        "real_name",
        "masked_phone",
        "organization",
        "registration_state",
        "status",
        "id_number_masked",
        "joined_on",
        "employer",
    ]
    # The export is the secretary's call list: the full phone for staff (each export is in the audit
    # log); a unit liaison's export masks it as the list does.
    full_phone_fields = {"phone": "masked_phone"}
    export_fields = [
        "real_name",
        "phone",
        "organization",
        "registration_state",
        "status",
        "id_number_masked",
        "joined_on",
        "employer",
    ]
    list_filter = [RegistrationStateFilter, "status"]
    search_fields = ["real_name", "employer", "organization__name"]
    fields = [
        "user",
        "real_name",
        "masked_phone",
        "organization",
        "status",
        "joined_on",
        "employer",
        "id_number_masked",
        "consent",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            selectors.members_for(request.user)
            .select_related("user", "organization", "consent")
            .annotate(registration_status=selectors.registration_status_annotation())
        )

    @admin.display(description="报到状态", ordering="registration_status")
    def registration_state(self, obj):
        return REGISTRATION_STATE_LABELS.get(getattr(obj, "registration_status", None), "未报到")

    def audit_subject(self, obj) -> int:
        return obj.user_id

    def gets_full_phone(self, request, obj) -> bool:
        scope = self._scope(request)
        if scope.is_superuser or obj.user_id == request.user.pk:
            return True
        if not scope.is_staff:
            return False
        # A staff member who is also a unit's liaison sees that unit's members through the liaison
        # role too: those rows get the full phone only if her staff scope covers them as well.
        if obj.organization_id in scope.organization_ids:
            return selectors.member_in_staff_scope(request.user, obj)
        return True

    @admin.display(description="联系电话")
    def masked_phone(self, obj):
        from backend.accounts.models import mask_phone

        return mask_phone(obj.phone)


@admin.register(MemberRegistration)
class MemberRegistrationAdmin(AuditedMixin, ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    audit_what = "member_registration"
    scope_paths = {"community": "community", "street": "community__street"}
    list_display = ["real_name", "community", "grid", "organization", "status", "submitted_at", "approved_at"]
    list_filter = ["status", "community"]
    search_fields = ["real_name", "organization__name"]
    readonly_fields = [
        "real_name",
        "member_phone",
        "member_status",
        "member_joined_on",
        "member_employer",
        "community",
        "grid",
        "organization",
        "address",
        "note",
        "status",
        "reason",
        "submitted_at",
        "decided_at",
        "decided_by",
        "approved_at",
        "withdrawn_at",
    ]
    fields = readonly_fields
    actions = ["approve", "reject", "revoke"]
    actions_detail = ["approve_one", "reject_one"]
    actions_row = ["approve_one", "reject_one"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member", "community", "grid", "organization")

    def audit_subject(self, obj) -> int:
        return obj.member.user_id

    # What the secretary decides on, from the member's record (the page is in the audit log).

    @admin.display(description="联系电话")
    def member_phone(self, obj):
        return obj.member.phone

    @admin.display(description="党员类别")
    def member_status(self, obj):
        return obj.member.get_status_display()

    @admin.display(description="入党日期")
    def member_joined_on(self, obj):
        return obj.member.joined_on or "-"

    @admin.display(description="工作单位")
    def member_employer(self, obj):
        return obj.member.employer or "-"

    approve_one, reject_one = _registration_decisions(
        approve=services.approve_registration,
        reject=services.reject_registration,
        what="报到",
        approved="通过后该党员即在本社区报到:",
        rejected="驳回原因会告知申请人:",
    )

    @admin.action(description="通过所选报到")
    def approve(self, request, queryset):
        _run(self, request, queryset, services.approve_registration, "已通过 %(n)s 份报到")

    @admin.action(description="驳回所选报到(填写原因)")
    def reject(self, request, queryset):
        return _reject(self, request, queryset, services.reject_registration, "已驳回 %(n)s 份报到")

    @admin.action(description="注销所选报到(已搬离等, 填写原因)")
    def revoke(self, request, queryset):
        return _reject(
            self,
            request,
            queryset,
            services.revoke_registration,
            "已注销 %(n)s 份报到",
            form_class=RevokeForm,
            title="注销报到",
            intro="以下已通过的报到将被注销, 党员不再计为本社区及所报党组织的党员:",
            action_name="revoke",
            submit_label="注销",
        )

    def has_view_permission(self, request, obj=None):
        return get_scope(request.user).is_staff


@admin.register(UnitRegistration)
class UnitRegistrationAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "community", "street": "community__street"}
    list_display = ["organization", "community", "contact_name", "agreement_date", "status", "submitted_at"]
    list_filter = ["status", "community"]
    search_fields = ["organization__name", "organization__employer"]
    readonly_fields = [
        "organization",
        "community",
        "agreement_date",
        "contact_name",
        "resources",
        "status",
        "reason",
        "submitted_at",
        "decided_at",
        "approved_at",
        "withdrawn_at",
    ]
    fields = readonly_fields
    actions = ["approve", "reject"]
    actions_detail = ["approve_one", "reject_one"]
    actions_row = ["approve_one", "reject_one"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "community")

    approve_one, reject_one = _registration_decisions(
        approve=services.approve_unit_registration,
        reject=services.reject_unit_registration,
        what="单位报到",
        approved="通过后申请人成为该单位在本社区的联络员:",
        rejected="驳回原因会告知申请单位:",
    )

    @admin.action(description="通过所选单位报到(申请人成为单位联络员)")
    def approve(self, request, queryset):
        _run(self, request, queryset, services.approve_unit_registration, "已通过 %(n)s 份单位报到")

    @admin.action(description="驳回所选单位报到(填写原因)")
    def reject(self, request, queryset):
        return _reject(self, request, queryset, services.reject_unit_registration, "已驳回 %(n)s 份单位报到")
