from django_filters.rest_framework import DjangoFilterBackend


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, its FilterSet for `filterset_fields` built once per view and model.

    django-filter builds that class (a metaclass reading the model's fields) again on every request,
    filtered or not: about a tenth of an anonymous page of communities. The class depends only on the
    view's fields and the queryset's model, so it is kept.
    """

    _auto_filtersets: dict[tuple[type, type, tuple[str, ...]], type] = {}

    def get_filterset_class(self, view, queryset=None):
        fields = getattr(view, "filterset_fields", None)
        if (
            getattr(view, "filterset_class", None)
            or not fields
            or queryset is None
            or not isinstance(fields, (list, tuple))
        ):
            return super().get_filterset_class(view, queryset)
        key = (type(view), queryset.model, tuple(fields))
        cached = self._auto_filtersets.get(key)
        if cached is None:
            cached = self._auto_filtersets[key] = super().get_filterset_class(view, queryset)
        return cached
