"""Service posts and the 三单: demands, resources and service projects."""

from __future__ import annotations

from django.contrib import admin

from backend.core.console import ScopedAdmin

from .. import services
from ..models import (
    Demand,
    DemandStep,
    Resource,
    ServicePost,
    ServiceProject,
)
from ._common import ReadOnlyMixin


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
