"""The console (Django admin) site and the scoped ModelAdmin base every app's admin uses."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import FieldDoesNotExist, ValidationError

from .scoping import get_scope, limit_choices, scope_q


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """Holding a role opens the console; Django's is_staff flag, which role grants never set, does not."""

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)
        if not (user.is_superuser or get_scope(user).has_any_role):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ConsoleSite(admin.AdminSite):
    site_header = "社区党建工作台"
    site_title = "社区党建工作台"
    index_title = "工作台"
    login_form = ConsoleAuthenticationForm

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_authenticated and (user.is_superuser or get_scope(user).has_any_role))


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows and changes only rows inside the user's scope.

    Subclasses name the lookup paths (`scope_paths = {"community": "community"}`) as for
    `scope_q`; rows outside scope are absent from lists and their change pages answer 404.
    Staff may edit (`staff_can_edit`); others only view. Superusers see everything.
    """

    scope_paths: dict[str, str] = {"community": "community"}
    scope_options: dict[str, bool] = {}
    staff_can_add = True
    staff_can_edit = True
    staff_can_delete = False

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
