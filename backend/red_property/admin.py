"""The console for red property: the company register, estates' governance, committees, meetings, scores.

Every write goes through the services, as the API's do. A refusal from a service rolls the whole
form back (the console wraps each save in one transaction) and is shown as a message on the form
page, so nothing is half-written and no refusal turns into an error page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from backend.accounts.models import mask_phone
from backend.communities.models import Community, Estate, Street
from backend.communities.selectors import editable_estates
from backend.core.console import ScopedAdmin
from backend.core.errors import DomainError
from backend.core.scoping import get_scope

from . import selectors, services
from .models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    EstateAssessment,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
    OwnersCommittee,
    OwnersCommitteeMember,
    PropertyCompany,
    ResidentsCommittee,
    ResidentsCommitteeMember,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
    SelfGovernanceMember,
)

ESTATE_SCOPE = {"community": "estate__community", "street": "estate__community__street"}


def _describe(exc: DomainError) -> str:
    if exc.fields:
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.fields.items())
    return str(exc.detail)


class ServiceAdmin(ScopedAdmin):
    """Saves and deletes through services; a refusal becomes a message instead of an error page."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, _describe(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, _describe(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def construct_change_message(self, request, form, formsets, add=False):
        # Inline rows are written by the services, not saved by their formsets: log the record only.
        return super().construct_change_message(request, form, [], add)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Estate:
            kwargs["queryset"] = editable_estates(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def delete_queryset(self, request, queryset):
        # One refusal (a company still serving an estate) does not stop the others.
        for obj in queryset:
            try:
                self.delete_model(request, obj)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {_describe(exc)}", messages.ERROR)


def _rows(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The inline rows kept (not deleted, not left empty), as plain dicts of their fields."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append({name: value for name, value in data.items() if name in form._meta.fields})
    return rows


def _formset_for(formsets, model) -> forms.BaseFormSet | None:
    return next((fs for fs in formsets if fs.model is model), None)


# Property companies -----------------------------------------------------------------------------


@admin.register(PropertyCompany)
class PropertyCompanyAdmin(ServiceAdmin):
    ledger_export = True
    list_display = ["name", "credit_code", "street", "contact_name", "masked_phone", "has_party_organization"]
    list_filter = ["street"]
    search_fields = ["name", "credit_code", "contact_name"]
    list_select_related = ["street", "party_organization"]
    scope_paths = {"street": "street", "community": "street__communities"}
    fields = [
        "name",
        "credit_code",
        "street",
        "address",
        "contact_name",
        "contact_phone",
        "party_organization",
        "party_member_count",
    ]
    staff_can_delete = True

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    @admin.display(description="联系电话")
    def masked_phone(self, obj: PropertyCompany) -> str:
        return mask_phone(obj.contact_phone) or ""

    @admin.display(description="有党组织", boolean=True)
    def has_party_organization(self, obj: PropertyCompany) -> bool:
        return obj.has_party_organization

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Street:
            # The register is kept by every staff member of the street, not by its admins only.
            streets = selectors.reachable_street_ids(request.user)
            if streets is not None:
                kwargs["queryset"] = Street.objects.filter(id__in=streets)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data}
        if change:
            saved = services.update_property_company(by=request.user, company=obj, **data)
        else:
            saved = services.create_property_company(by=request.user, **data)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_property_company(by=request.user, company=obj)


# Estate governance ------------------------------------------------------------------------------


@admin.register(EstateGovernance)
class EstateGovernanceAdmin(ServiceAdmin):
    ledger_export = True
    list_display = ["estate", "community", "property_company", "party_organization", "is_red_property"]
    list_filter = ["is_red_property", "estate__community"]
    search_fields = ["estate__name"]
    list_select_related = ["estate__community", "property_company", "party_organization"]
    scope_paths = ESTATE_SCOPE
    fields = [
        "estate",
        "property_company",
        "party_organization",
        "owners_committee_required_override",
        "is_red_property",
        "red_property_since",
        "notes",
    ]

    @admin.display(description="社区")
    def community(self, obj: EstateGovernance) -> Community:
        return obj.estate.community

    def get_readonly_fields(self, request, obj=None):
        readonly = ["estate"] if obj is not None else []
        # Naming a demonstration estate is the street's call.
        if not (get_scope(request.user).is_superuser or get_scope(request.user).street_ids):
            readonly += ["is_red_property", "red_property_since"]
        return readonly

    def save_model(self, request, obj, form, change):
        estate = obj.estate
        changes = {name: form.cleaned_data[name] for name in self.fields[1:] if name in form.cleaned_data}
        saved = services.update_estate_governance(by=request.user, estate=estate, **changes)
        obj.pk = saved.pk
        obj._state.adding = False


# Committees and groups with their members ---------------------------------------------------------


class StaffInline(admin.TabularInline):
    """Rows edited with their record: whoever may change the record (the admin checks scope) edits them."""

    extra = 1

    def _is_staff(self, request) -> bool:
        return get_scope(request.user).is_staff

    def has_view_permission(self, request, obj=None):
        return self._is_staff(request)

    def has_add_permission(self, request, obj=None):
        return self._is_staff(request)

    def has_change_permission(self, request, obj=None):
        return self._is_staff(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_staff(request)


class MemberInline(StaffInline):
    fields = ["name", "role", "phone", "is_party_member", "also_in_party_organisation"]


class OwnersMemberInline(MemberInline):
    model = OwnersCommitteeMember


class ResidentsMemberInline(MemberInline):
    model = ResidentsCommitteeMember


class GroupMemberInline(MemberInline):
    model = SelfGovernanceMember


class MembersAdmin(ServiceAdmin):
    """The record and its member rows are written together by one service call.

    Subclasses say which: `create(by=, members=, <place>=, …)` and `update(by=, obj=, members=, …)`.
    """

    member_model: type = OwnersCommitteeMember
    place_field = "estate"
    record_fields: tuple[str, ...] = ("term_start", "term_end", "notes")

    def save_model(self, request, obj, form, change):
        # Written in save_related, once the member rows are known.
        pass

    def save_related(self, request, form, formsets, change):
        members = _rows(_formset_for(formsets, self.member_model))
        data = {name: form.cleaned_data[name] for name in self.record_fields if name in form.cleaned_data}
        obj = form.instance
        if change:
            saved = self.update(by=request.user, obj=obj, members=members, **data)
        else:
            saved = self.create(
                by=request.user, members=members, **data, **{self.place_field: form.cleaned_data[self.place_field]}
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def get_readonly_fields(self, request, obj=None):
        return [self.place_field] if obj is not None else []


@admin.register(OwnersCommittee)
class OwnersCommitteeAdmin(MembersAdmin):
    list_display = ["estate", "term_start", "term_end"]
    list_filter = ["estate__community"]
    search_fields = ["estate__name"]
    list_select_related = ["estate"]
    scope_paths = ESTATE_SCOPE
    fields = ["estate", "term_start", "term_end", "notes"]
    inlines = [OwnersMemberInline]
    staff_can_delete = True

    def create(self, **kwargs: Any) -> OwnersCommittee:
        return services.create_owners_committee(**kwargs)

    def update(self, *, obj: OwnersCommittee, **kwargs: Any) -> OwnersCommittee:
        return services.update_owners_committee(committee=obj, **kwargs)

    def delete_model(self, request, obj):
        services.delete_owners_committee(by=request.user, committee=obj)


@admin.register(ResidentsCommittee)
class ResidentsCommitteeAdmin(MembersAdmin):
    list_display = ["community", "term_start", "term_end"]
    list_filter = ["community"]
    list_select_related = ["community"]
    scope_paths = {"community": "community", "street": "community__street"}
    fields = ["community", "term_start", "term_end", "notes"]
    inlines = [ResidentsMemberInline]
    member_model = ResidentsCommitteeMember
    place_field = "community"
    staff_can_delete = True

    def create(self, **kwargs: Any) -> ResidentsCommittee:
        return services.create_residents_committee(**kwargs)

    def update(self, *, obj: ResidentsCommittee, **kwargs: Any) -> ResidentsCommittee:
        return services.update_residents_committee(committee=obj, **kwargs)

    def delete_model(self, request, obj):
        services.delete_residents_committee(by=request.user, committee=obj)


@admin.register(SelfGovernanceGroup)
class SelfGovernanceGroupAdmin(MembersAdmin):
    list_display = ["name", "estate", "term_start", "term_end"]
    list_filter = ["estate__community"]
    search_fields = ["name", "estate__name"]
    list_select_related = ["estate"]
    scope_paths = ESTATE_SCOPE
    fields = ["estate", "name", "term_start", "term_end", "notes"]
    inlines = [GroupMemberInline]
    member_model = SelfGovernanceMember
    record_fields = ("name", "term_start", "term_end", "notes")
    staff_can_delete = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "estate":
            field.queryset = field.queryset.filter(has_property_service=False)
        return field

    def create(self, **kwargs: Any) -> SelfGovernanceGroup:
        return services.create_self_governance_group(**kwargs)

    def update(self, *, obj: SelfGovernanceGroup, **kwargs: Any) -> SelfGovernanceGroup:
        return services.update_self_governance_group(group=obj, **kwargs)

    def delete_model(self, request, obj):
        services.delete_self_governance_group(by=request.user, group=obj)


@admin.register(SelfGovernanceMeeting)
class SelfGovernanceMeetingAdmin(ServiceAdmin):
    list_display = ["group", "held_on", "attendee_count"]
    list_select_related = ["group__estate"]
    scope_paths = {"community": "group__estate__community", "street": "group__estate__community__street"}
    fields = ["group", "held_on", "topics", "minutes", "attendee_count"]
    staff_can_delete = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group":
            kwargs["queryset"] = selectors.self_governance_groups_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["group"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.fields[1:] if name in form.cleaned_data}
        if change:
            saved = services.update_self_governance_meeting(by=request.user, meeting=obj, **data)
        else:
            saved = services.record_self_governance_meeting(by=request.user, group=form.cleaned_data["group"], **data)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_self_governance_meeting(by=request.user, meeting=obj)


# 三方联动 ----------------------------------------------------------------------------------------


class ParticipantInline(StaffInline):
    model = JointMeetingParticipant
    extra = 3
    fields = ["side", "name", "title"]


class FollowUpInline(StaffInline):
    model = FollowUpItem
    extra = 1
    fields = ["content", "owner", "due_date", "done_on"]


@admin.register(JointMeeting)
class JointMeetingAdmin(ServiceAdmin):
    ledger_export = True
    list_display = ["estate", "held_on", "counts"]
    list_filter = ["estate__community"]
    search_fields = ["estate__name", "topics"]
    list_select_related = ["estate"]
    scope_paths = ESTATE_SCOPE
    fields = ["estate", "held_on", "place", "topics", "decisions"]
    inlines = [ParticipantInline, FollowUpInline]
    staff_can_delete = True

    def get_queryset(self, request):
        return selectors.with_counts(super().get_queryset(request))

    @admin.display(description="三方到齐", boolean=True)
    def counts(self, obj: JointMeeting) -> bool:
        return obj.counts

    def get_readonly_fields(self, request, obj=None):
        return ["estate"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # Written in save_related, once the participants are known.
        pass

    def save_related(self, request, form, formsets, change):
        participants = _rows(_formset_for(formsets, JointMeetingParticipant))
        data = {name: form.cleaned_data[name] for name in self.fields[1:] if name in form.cleaned_data}
        follow_ups = _formset_for(formsets, FollowUpItem)
        by = request.user
        if change:
            meeting = services.update_joint_meeting(by=by, meeting=form.instance, participants=participants, **data)
        else:
            meeting = services.create_joint_meeting(
                by=by, estate=form.cleaned_data["estate"], participants=participants, **data
            )
        form.instance.pk = meeting.pk
        form.instance._state.adding = False
        for item_form in follow_ups.forms:
            cleaned = getattr(item_form, "cleaned_data", None)
            if not cleaned:
                continue
            item = item_form.instance if item_form.instance.pk else None
            if cleaned.get("DELETE"):
                if item is not None:
                    services.delete_follow_up(by=by, item=item)
                continue
            fields = {name: cleaned.get(name) for name in ("content", "owner", "due_date", "done_on")}
            if item is None:
                done_on = fields.pop("done_on")
                item = services.add_follow_up(by=by, meeting=meeting, **fields)
                if done_on is not None:
                    services.update_follow_up(by=by, item=item, done_on=done_on)
            elif item_form.has_changed():
                services.update_follow_up(by=by, item=item, **fields)

    def delete_model(self, request, obj):
        services.delete_joint_meeting(by=request.user, meeting=obj)


# Assessment -------------------------------------------------------------------------------------


class StreetSheetAdmin(ServiceAdmin):
    """The street's own sheet: its admins write; community staff of the street read."""

    scope_paths = {"street": "street", "community": "street__communities"}
    staff_can_delete = True

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    def _is_street_admin(self, request) -> bool:
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids)

    def has_add_permission(self, request):
        return self._is_street_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._is_street_admin(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_street_admin(request)

    def get_readonly_fields(self, request, obj=None):
        return ["street", "year"] if obj is not None else []


@admin.register(AssessmentStandard)
class AssessmentStandardAdmin(StreetSheetAdmin):
    list_display = ["street", "year", "demonstration_threshold"]
    list_filter = ["year"]
    fields = ["street", "year", "demonstration_threshold"]

    def save_model(self, request, obj, form, change):
        threshold = form.cleaned_data["demonstration_threshold"]
        if change:
            saved = services.update_assessment_standard(
                by=request.user, standard=obj, demonstration_threshold=threshold
            )
        else:
            saved = services.create_assessment_standard(
                by=request.user,
                street=form.cleaned_data["street"],
                year=form.cleaned_data["year"],
                demonstration_threshold=threshold,
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_assessment_standard(by=request.user, standard=obj)


@admin.register(AssessmentItem)
class AssessmentItemAdmin(StreetSheetAdmin):
    list_display = ["street", "year", "category", "name", "max_points", "position"]
    list_filter = ["year", "category"]
    search_fields = ["name", "category"]
    list_select_related = ["street"]
    fields = ["street", "year", "category", "name", "max_points", "guidance", "position"]

    def save_model(self, request, obj, form, change):
        editable = ("category", "name", "max_points", "guidance", "position")
        data = {name: form.cleaned_data[name] for name in editable if name in form.cleaned_data}
        if change:
            saved = services.update_assessment_item(by=request.user, item=obj, **data)
        else:
            saved = services.create_assessment_item(
                by=request.user, street=form.cleaned_data["street"], year=form.cleaned_data["year"], **data
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_assessment_item(by=request.user, item=obj)


class ScoreInline(StaffInline):
    model = AssessmentScore
    extra = 3
    fields = ["item", "points", "note"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            kwargs["queryset"] = selectors.assessment_items_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(EstateAssessment)
class EstateAssessmentAdmin(ServiceAdmin):
    list_display = ["estate", "year", "total", "is_demonstration"]
    list_filter = ["year", "estate__community"]
    search_fields = ["estate__name"]
    scope_paths = ESTATE_SCOPE
    fields = ["estate", "year", "notes"]
    inlines = [ScoreInline]
    staff_can_delete = True

    def get_queryset(self, request):
        return selectors.assessments_for(request.user)

    @admin.display(description="总分")
    def total(self, obj: EstateAssessment) -> Any:
        return obj.total

    @admin.display(description="示范小区", boolean=True)
    def is_demonstration(self, obj: EstateAssessment) -> bool:
        return obj.is_demonstration

    def get_readonly_fields(self, request, obj=None):
        return ["estate", "year"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # Written in save_related, once the score rows are known.
        pass

    def save_related(self, request, form, formsets, change):
        scores_formset = _formset_for(formsets, AssessmentScore)
        scores = []
        for score_form in scores_formset.forms:
            cleaned = getattr(score_form, "cleaned_data", None)
            if not cleaned or not cleaned.get("item"):
                continue
            removed = cleaned.get("DELETE")
            scores.append(
                {
                    "item": cleaned["item"],
                    "points": None if removed else cleaned["points"],
                    "note": cleaned.get("note", ""),
                }
            )
        notes = form.cleaned_data.get("notes", "")
        if change:
            saved = services.update_assessment(by=request.user, assessment=form.instance, scores=scores, notes=notes)
        else:
            saved = services.create_assessment(
                by=request.user,
                estate=form.cleaned_data["estate"],
                year=form.cleaned_data["year"],
                scores=scores,
                notes=notes,
            )
        form.instance.pk = saved.pk
        form.instance._state.adding = False

    def delete_model(self, request, obj):
        services.delete_assessment(by=request.user, assessment=obj)
