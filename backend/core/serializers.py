"""Serializers whose fields are built once per class, for the busiest requests."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class FlatSerializer(serializers.Serializer):
    """A serializer of plain fields, built once per class instead of once per use.

    DRF deep-copies every declared field each time a serializer is made, re-running each field's
    constructor, so that binding one (its name, its parent) never touches another serializer's. For
    plain fields (numbers, strings, UUIDs, times, choices: no nested serializer, no list of child
    fields) a shallow copy keeps that promise: binding sets attributes of the copy alone, and what
    the copies share (validators, choices) is never changed after construction. On a check-in that
    copying was about a tenth of the request's CPU. A nested field is refused when the class is
    made, so the shortcut cannot be taken where it would not hold.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, serializers.BaseSerializer | serializers.ListField | serializers.DictField):
                raise TypeError(f"{cls.__name__}.{name}: a FlatSerializer takes plain fields only")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
