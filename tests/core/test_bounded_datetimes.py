"""Every datetime the API takes is held to the years 2000..2100 before any zone conversion: the
fields and the filter, and a walk over every serializer and filter set of the project so that a
new field cannot take year 1 (an OverflowError, a 500) again."""

from __future__ import annotations

import django_filters as django_filters_base
import pytest
from django.core.exceptions import ValidationError
from django.urls import get_resolver
from django_filters import filters as django_filters
from django_filters import rest_framework as drf_filters
from drf_spectacular.generators import EndpointEnumerator
from rest_framework import serializers

from backend.core.fields import BoundedDateField, BoundedDateTimeField
from backend.core.filters import BoundedDateTimeFilter, BoundedIsoDateTimeField

FAR = ["0001-01-01", "0001-01-01T00:00:00", "0001-01-01T07:59:59+08:00", "9999-12-31T23:59:59-12:00", "2101-01-01"]
NEAR = ["2000-01-01T00:00:00+08:00", "2026-03-01T09:00:00", "2100-12-31T23:59:59-12:00"]


@pytest.mark.parametrize("value", FAR)
def test_the_field_and_the_filter_refuse_far_years(value):
    with pytest.raises(serializers.ValidationError) as caught:
        BoundedDateTimeField().run_validation(value)
    assert "2000" in str(caught.value.detail[0])
    with pytest.raises(ValidationError):
        BoundedIsoDateTimeField().clean(value)


@pytest.mark.parametrize("value", NEAR)
def test_the_field_and_the_filter_take_the_years_in_range(value):
    assert BoundedDateTimeField().run_validation(value).year in (2000, 2026, 2100, 2101)
    assert BoundedIsoDateTimeField().clean(value) is not None


def test_the_date_field_refuses_far_years_and_text_that_is_no_date_is_its_own_error():
    with pytest.raises(serializers.ValidationError) as caught:
        BoundedDateField().run_validation("9999-12-31")
    assert "2000" in str(caught.value.detail[0])
    with pytest.raises(serializers.ValidationError) as caught:
        BoundedDateTimeField().run_validation("not a date")
    assert "2000" not in str(caught.value.detail[0])
    assert str(BoundedDateField().run_validation("2026-03-01")) == "2026-03-01"


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _project_classes(cls: type) -> list[type]:
    get_resolver().url_patterns  # noqa: B018 - every view module, and so every serializer, is imported
    return sorted(
        (sub for sub in _subclasses(cls) if sub.__module__.startswith("backend.")),
        key=lambda sub: f"{sub.__module__}.{sub.__qualname__}",
    )


def _writable_fields(serializer: serializers.BaseSerializer, prefix: str = ""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.Serializer):
            yield from _writable_fields(field, f"{prefix}{name}.")
        elif isinstance(field, serializers.ListField):
            yield f"{prefix}{name}[]", field.child
        else:
            yield f"{prefix}{name}", field


def test_every_datetime_a_serializer_takes_is_bounded():
    escaped, checked = [], 0
    for cls in _project_classes(serializers.Serializer):
        if issubclass(cls, serializers.ModelSerializer) and not hasattr(cls, "Meta"):
            continue  # a base or mixin for ModelSerializers, which its subclasses are walked as
        try:
            serializer = cls(context={})
            fields = list(_writable_fields(serializer))
        except Exception as exc:  # a serializer that cannot stand alone is named, not skipped silently
            escaped.append(f"{cls.__module__}.{cls.__qualname__}: cannot be built alone ({exc!r})")
            continue
        for name, field in fields:
            if isinstance(field, serializers.DateTimeField):
                checked += 1
                if not isinstance(field, BoundedDateTimeField):
                    escaped.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not escaped, "\n".join(escaped)
    # ModelSerializers' own datetimes (an activity's starts_at, enrollment_deadline) are among them.
    assert checked >= 5


DATETIME_FILTERS = (django_filters.DateTimeFilter, django_filters.IsoDateTimeFilter)


def test_every_datetime_filter_is_bounded():
    escaped, checked = [], 0
    for cls in _project_classes(django_filters_base.FilterSet):
        for name, field in cls.base_filters.items():
            if isinstance(field, DATETIME_FILTERS):
                checked += 1
                if not isinstance(field, BoundedDateTimeFilter):
                    escaped.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    # The filter sets django-filter builds from a view's `filterset_fields`.
    for _path, _regex, _method, callback in EndpointEnumerator().get_api_endpoints():
        view = getattr(callback, "cls", None)
        fields = getattr(view, "filterset_fields", None)
        queryset = getattr(view, "queryset", None)
        if not fields or queryset is None:
            continue
        filterset = drf_filters.DjangoFilterBackend().get_filterset_class(view(), queryset)
        for name, field in filterset.base_filters.items():
            if isinstance(field, DATETIME_FILTERS) and not isinstance(field, BoundedDateTimeFilter):
                escaped.append(f"{view.__module__}.{view.__qualname__}.filterset_fields {name}")
    assert not escaped, "\n".join(escaped)
    assert checked >= 2
