"""The console for secretaries: registrations to decide, posts to define, points rules to tune.

Decisions and ledger lines go through the services (the console never writes them directly),
and every page showing members' details to staff is written to the audit log.
"""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db.models import Q

from backend.accounts.audit import record_access, record_accesses
from backend.accounts.models import PersonalDataAccess
from backend.core.console import ReasonForm, ScopedAdmin, action_form_page, decision
from backend.core.errors import DomainError
from backend.core.scoping import get_scope, scope_q

from . import selectors, services
from .models import (
    Demand,
    DemandStep,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PointsRule,
    PrivacyConsent,
    Resource,
    ServicePost,
    ServiceProject,
    UnitRegistration,
)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedMixin:
    """Records staff reads of the rows a list page or change page shows."""

    audit_what = ""

    def audit_subject(self, obj) -> int:  # pragma: no cover - each admin says whose data a row is
        raise NotImplementedError

    def record_export(self, request, objects) -> None:
        record_accesses(
            actor=request.user,
            reads=[(self.audit_subject(obj), obj.pk) for obj in objects],
            what=self.audit_what,
            path=request.get_full_path(),
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            record_accesses(
                actor=request.user,
                reads=[(self.audit_subject(obj), obj.pk) for obj in changelist.result_list],
                what=self.audit_what,
                path=request.get_full_path(),
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original") if hasattr(response, "context_data") else None
        if obj is not None:
            record_access(
                actor=request.user,
                subject=self.audit_subject(obj),
                what=self.audit_what,
                object_id=obj.pk,
                path=request.get_full_path(),
            )
        return response


def _run(modeladmin, request, queryset, service, done: str) -> None:
    ok = 0
    for row in queryset:
        try:
            service(registration=row, by=request.user)
            ok += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{row}: {exc.detail}", messages.WARNING)
    if ok:
        modeladmin.message_user(request, done % {"n": ok}, messages.SUCCESS)


def _pending(registration) -> bool:
    # Member and unit registrations share their statuses.
    return registration.status == MemberRegistration.Status.PENDING


def _registration_decisions(*, approve, reject, what: str, approved: str, rejected: str):
    """The 通过 / 驳回 buttons of a registration's page (member or unit), through its services."""
    return (
        decision(
            "approve_one",
            description="通过",
            applies=_pending,
            run=lambda obj, data, user: approve(registration=obj, by=user),
            title=f"通过{what}",
            intro=approved,
            done=f"已通过{what}",
        ),
        decision(
            "reject_one",
            description="驳回",
            reject=True,
            applies=_pending,
            run=lambda obj, data, user: reject(registration=obj, by=user, reason=data["reason"]),
            form_class=RejectForm,
            title=f"驳回{what}",
            intro=rejected,
            done=f"已驳回{what}",
        ),
    )


class RejectForm(ReasonForm):
    reason = forms.CharField(label="驳回原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class RevokeForm(forms.Form):
    reason = forms.CharField(label="注销原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def _reject(modeladmin, request, queryset, service, done: str, *, form_class=RejectForm, **page):
    """Asks for the reason first (the member sees it), then rejects each through the service."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            _run(modeladmin, request, queryset, partial(service, reason=form.cleaned_data["reason"]), done)
            return None
    else:
        form = form_class()
    texts = {
        "title": "驳回报到",
        "intro": "以下报到将被驳回, 申请人会看到驳回原因:",
        "action_name": "reject",
        "submit_label": "驳回",
        **page,
    }
    return action_form_page(modeladmin, request, queryset, form=form, **texts)


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


@admin.register(ServicePost)
class ServicePostAdmin(ScopedAdmin):
    scope_paths = {"community": "community", "street": "community__street"}
    list_display = ["name", "community", "capacity", "is_active", "created_at"]
    list_filter = ["is_active", "community"]
    search_fields = ["name"]
    fields = ["community", "name", "description", "capacity", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        # A post stays in its community (update_post does not move it); superusers included.
        return ["community"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in form.changed_data if name in services.POST_EDITABLE}
            post = services.update_post(post=obj, by=request.user, **changes)
        else:
            post = services.create_post(
                by=request.user,
                community=data["community"],
                name=data["name"],
                capacity=data["capacity"],
                description=data.get("description", ""),
            )
            if not data.get("is_active", True):
                post = services.update_post(post=post, by=request.user, is_active=False)
        obj.pk = post.pk
        obj._state.adding = False


class DemandStepInline(admin.TabularInline):
    model = DemandStep
    extra = 0
    fields = ["at", "action", "from_status", "to_status", "actor", "assignee", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Demand)
class DemandAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "community", "street": "community__street", "grid": "grid"}
    scope_options = {"include_grid_workers": True}
    list_display = ["title", "kind", "community", "status", "requester", "claimed_by", "created_at"]
    list_filter = ["kind", "status", "community"]
    search_fields = ["title", "description"]
    fields = [
        "kind",
        "community",
        "grid",
        "estate",
        "title",
        "description",
        "contact_name",
        "status",
        "requester",
        "claimed_by",
        "claimed_organization",
        "claimed_at",
        "done_at",
        "confirmed_at",
        "cancelled_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [DemandStepInline]


@admin.register(Resource)
class ResourceAdmin(ReadOnlyMixin, ScopedAdmin):
    scope_paths = {"community": "community", "street": "community__street"}
    list_display = ["title", "category", "community", "organization", "is_active", "created_at"]
    list_filter = ["category", "is_active", "community"]
    search_fields = ["title", "description"]
    fields = ["community", "title", "category", "description", "organization", "is_active", "created_at"]
    readonly_fields = fields


@admin.register(ServiceProject)
class ServiceProjectAdmin(ReadOnlyMixin, ScopedAdmin):
    scope_paths = {"community": "community", "street": "community__street"}
    list_display = ["name", "community", "owner", "status", "starts_on", "ends_on"]
    list_filter = ["status", "community"]
    search_fields = ["name"]
    fields = ["community", "name", "description", "owner", "status", "starts_on", "ends_on", "demands", "resources"]
    readonly_fields = fields


# What an entry's `source` ("activity:12", "record:5:11") means, for the secretary reading the ledger.
POINTS_SOURCES = {
    "activity": "活动 #{0}",
    "demand": "群众需求 #{0}",
    "record": "志愿服务记录 #{0} 第{1}小时",
    "correction": "人工更正",
}


def points_source_label(source: str) -> str:
    kind, _sep, rest = source.partition(":")
    template = POINTS_SOURCES.get(kind)
    if template is None:
        return source
    parts = rest.split(":")
    try:
        return template.format(*parts)
    except IndexError:
        return source


@admin.register(PointsRule)
class PointsRuleAdmin(ScopedAdmin):
    """Street admins tune their street's rules (a rule with a global rule's code overrides it there);
    the global defaults are the superusers'."""

    scope_paths = {"street": "street"}
    list_display = ["name", "points", "yearly_cap", "is_active", "street", "code", "updated_at"]
    list_filter = ["is_active", "street"]
    search_fields = ["code", "name"]
    fields = ["street", "code", "name", "points", "yearly_cap", "is_active"]

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs.filter(scope_q(request.user, street="street") | Q(street__isnull=True))

    def _street_admin(self, request) -> bool:
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids)

    def has_add_permission(self, request):
        return self._street_admin(request)

    def has_change_permission(self, request, obj=None):
        if not self._street_admin(request):
            return False
        if obj is not None and obj.street_id is None:
            return get_scope(request.user).is_superuser
        return True

    def has_delete_permission(self, request, obj=None):
        # Entries keep pointing at their rule: switch a rule off instead.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        rule = services.save_points_rule(
            by=request.user,
            rule=obj if change else None,
            street=data.get("street"),
            code=data["code"],
            name=data["name"],
            points=data["points"],
            yearly_cap=data.get("yearly_cap"),
            is_active=data.get("is_active", False),
        )
        obj.pk = rule.pk
        obj._state.adding = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if not get_scope(request.user).is_superuser and "street" in form.base_fields:
            form.base_fields["street"].required = True
            form.base_fields["street"].empty_label = None
        return form


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    list_display = ["user", "kind", "rule_name", "source_label", "points", "requested_points", "year", "created_at"]
    list_filter = ["kind", "year", "rule"]
    search_fields = ["user__real_name", "source"]
    fields = [*list_display, "reason", "created_by"]
    readonly_fields = fields

    def get_queryset(self, request):
        members = selectors.members_for(request.user).values("user_id")
        return (
            admin.ModelAdmin.get_queryset(self, request)
            .filter(user_id__in=members)
            .select_related("user", "rule", "created_by")
        )

    @admin.display(description="规则", ordering="rule__name")
    def rule_name(self, obj: PointsEntry) -> str:
        return obj.rule.name if obj.rule is not None else (obj.rule_code or "-")

    @admin.display(description="来源", ordering="source")
    def source_label(self, obj: PointsEntry) -> str:
        return points_source_label(obj.source)


@admin.register(PrivacyConsent)
class PrivacyConsentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "purpose", "version", "given_at"]
    list_filter = ["purpose", "version"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


# The audit log is an accounts table; it is shown here, beside the pages whose reads it records.
@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "subject", "what", "object_id", "path"]
    list_filter = ["what"]
    search_fields = ["actor__real_name", "subject__real_name", "path"]
    date_hierarchy = "at"

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
