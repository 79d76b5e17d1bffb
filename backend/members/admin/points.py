"""The points ledger and its rules."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from backend.core.console import ScopedAdmin
from backend.core.scoping import get_scope, scope_q

from .. import selectors, services
from ..models import (
    PointsEntry,
    PointsRule,
)
from ._common import ReadOnlyMixin

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
