"""Serializers whose fields are built once per class, for the busiest requests.

`FieldsBuiltOnce` is mixed into a Serializer or ModelSerializer of plain fields: its fields are
built once per class instead of once per use.

DRF deep-copies every declared field each time a serializer is made (re-running each field's
constructor), and a ModelSerializer also builds its other fields from the model again, so that
binding one (its name, its parent) never touches another serializer's. For plain fields
(numbers, strings, UUIDs, times, choices, primary keys of related rows: no nested serializer,
no list of child fields) a shallow copy keeps that promise: binding, or a view narrowing a
related field's queryset, sets attributes of the copy alone, and what the copies share
(validators, choices, the unevaluated default queryset, which a related field clones before
use) is never changed after construction. On a check-in that copying was about a tenth of the
request's CPU. A nested field is refused the first time the fields are built, so the shortcut
cannot be taken where it would not hold. Not for serializers whose fields depend on the
request or the instance (a `get_fields` of their own).

`FlatSerializer` is a Serializer of plain declared fields built that way.

The classes carry no docstrings of their own: drf-spectacular takes the nearest docstring of a
serializer's own classes as its schema description, and these are mixed into the API's."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone
from rest_framework import serializers

_NESTED = (serializers.BaseSerializer, serializers.ListField, serializers.DictField)


class FieldsBuiltOnce:
    _built_fields: ClassVar[dict[type, dict[str, serializers.Field]]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built = FieldsBuiltOnce._built_fields.get(cls)
        if built is None:
            built = super().get_fields()  # type: ignore[misc]  # the serializer's own, after this mixin
            for name, field in built.items():
                if isinstance(field, _NESTED):
                    raise TypeError(f"{cls.__name__}.{name}: fields built once must be plain fields")
            FieldsBuiltOnce._built_fields[cls] = built
        return {name: copy.copy(field) for name, field in built.items()}


class FlatSerializer(FieldsBuiltOnce, serializers.Serializer):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, _NESTED):
                raise TypeError(f"{cls.__name__}.{name}: a FlatSerializer takes plain fields only")


def moments() -> Callable[[datetime | None], str | None]:
    """DRF's DateTimeField.to_representation for aware values (all of them, USE_TZ), with the current
    time zone looked up once a page rather than for every time of every row: for answers written
    directly."""
    zone = timezone.get_current_timezone()

    def moment(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return moment
