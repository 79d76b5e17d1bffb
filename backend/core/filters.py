from django_filters.fields import IsoDateTimeField
from django_filters.filters import IsoDateTimeFilter
from django_filters.rest_framework import DjangoFilterBackend

from .fields import BoundedFormFieldMixin


class BoundedIsoDateTimeField(BoundedFormFieldMixin, IsoDateTimeField):
    """The query string's datetimes held to the API's years before the zone conversion (see
    BoundedDateTimeField in core.fields): a 400, not the OverflowError of year 1 or 9999."""


class BoundedDateTimeFilter(IsoDateTimeFilter):
    """Every datetime filter of the API: ISO 8601 as django-filter's, within 2000..2100."""

    field_class = BoundedIsoDateTimeField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, its FilterSet for `filterset_fields` built once per view and model,
    and not run at all when the request names none of its filters.

    django-filter builds that class (a metaclass reading the model's fields) again on every request,
    then a form to validate the query string, filtered or not: a sixth of an anonymous page of
    communities. The class depends only on the view's fields and the queryset's model, so it is kept.
    Such a generated FilterSet only filters by the parameters it names, every one optional, so with
    none of them in the query string it can neither filter nor refuse anything. A view's own
    `filterset_class` may do more (defaults, methods) and always runs.
    """

    _auto_filtersets: dict[tuple[type, type, tuple[str, ...]], type] = {}

    def _auto_key(self, view, queryset) -> tuple[type, type, tuple[str, ...]] | None:
        fields = getattr(view, "filterset_fields", None)
        if getattr(view, "filterset_class", None) or not fields or queryset is None:
            return None
        if not isinstance(fields, (list, tuple)):
            return None
        return (type(view), queryset.model, tuple(fields))

    def get_filterset_class(self, view, queryset=None):
        key = self._auto_key(view, queryset)
        if key is None:
            return super().get_filterset_class(view, queryset)
        cached = self._auto_filtersets.get(key)
        if cached is None:
            cached = self._auto_filtersets[key] = super().get_filterset_class(view, queryset)
        return cached

    def filter_queryset(self, request, queryset, view):
        if self._auto_key(view, queryset) is not None:
            names = self.get_filterset_class(view, queryset).base_filters.keys()
            if names.isdisjoint(request.query_params.keys()):
                return queryset
        return super().filter_queryset(request, queryset, view)
