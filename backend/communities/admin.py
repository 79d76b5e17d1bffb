"""The map in the console. Staff keep their estates through the same service as the API; streets,
communities, grids and party organisations are set up by superusers (read-only for staff: no
service writes them)."""

from django import forms
from django.contrib import admin

from backend.core.console import ScopedAdmin, form_error_from
from backend.core.errors import DomainError
from backend.core.map_picker import map_picker_field

from . import services
from .models import Community, Estate, Grid, PartyOrganization, Place, Street


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
    scope_paths = {"community": "community", "street": "street", "organization": "id"}
    scope_options = {"include_liaisons": True}


class PlaceForm(forms.ModelForm):
    map = map_picker_field()

    class Meta:
        model = Place
        fields = ["community", "name", "kind", "address", "latitude", "longitude", "radius_m"]

    def _post_clean(self):
        # The instance holds the form's values from here on: check them with the service's rules.
        super()._post_clean()  # type: ignore[misc]  # ModelForm's own hook, absent from the stubs
        if self.errors:
            return
        try:
            services.validate_place(self.instance)
        except DomainError as exc:
            self.add_error(None, form_error_from(exc, set(self.fields)))


@admin.register(Place)
class PlaceAdmin(ScopedAdmin):
    """Places a community holds activities at: picked once on the map, then chosen by name."""

    form = PlaceForm
    list_display = ["name", "kind", "community", "address", "radius_m"]
    list_filter = ["kind", "community__street", "community"]
    search_fields = ["name", "address"]
    list_select_related = ["community"]
    scope_paths = {"community": "community", "street": "community__street"}
    fields = ["community", "name", "kind", "address", "map", "latitude", "longitude", "radius_m"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "community"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in services.PLACE_FIELDS}
        if change:
            saved = services.update_place(place=obj, **values)
        else:
            saved = services.create_place(community=form.cleaned_data["community"], **values)
        obj.pk = saved.pk
        obj.refresh_from_db()
