"""The map in the console. Staff keep their estates through the same service as the API; streets,
communities, grids and party organisations are set up by superusers (read-only for staff: no
service writes them)."""

from django.contrib import admin

from backend.core.console import ScopedAdmin

from . import services
from .models import Community, Estate, Grid, PartyOrganization, Street


@admin.register(Street)
class StreetAdmin(ScopedAdmin):
    list_display = ["name", "city"]
    search_fields = ["name", "city"]
    scope_paths = {"street": "id"}
    staff_can_add = False
    staff_can_edit = False


@admin.register(Community)
class CommunityAdmin(ScopedAdmin):
    list_display = ["name", "street", "address"]
    list_filter = ["street"]
    search_fields = ["name"]
    scope_paths = {"community": "id", "street": "street"}
    staff_can_add = False


@admin.register(Grid)
class GridAdmin(ScopedAdmin):
    list_display = ["name", "community"]
    list_filter = ["community__street", "community"]
    search_fields = ["name", "community__name"]
    scope_paths = {"community": "community"}


@admin.register(Estate)
class EstateAdmin(ScopedAdmin):
    ledger_export = True
    list_display = ["name", "community", "grid", "households", "has_property_service"]
    list_filter = ["has_property_service", "community__street", "community"]
    search_fields = ["name", "address"]
    list_select_related = ["community", "grid"]
    scope_paths = {"community": "community"}
    fields = ["community", "grid", "name", "address", "households", "has_property_service"]

    def save_model(self, request, obj, form, change):
        # The service refuses a grid of another community, as the API does.
        values = {name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data}
        estate = services.update_estate(estate=obj, **values) if change else services.create_estate(**values)
        obj.pk = estate.pk
        obj._state.adding = False


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(ScopedAdmin):
    list_display = ["name", "kind", "parent", "street", "community", "is_unit"]
    list_filter = ["kind", "is_unit", "street"]
    search_fields = ["name", "employer"]
    list_select_related = ["parent", "street", "community"]
    scope_paths = {"community": "community", "street": "street"}
    scope_options = {"organization": "id", "include_liaisons": True}
