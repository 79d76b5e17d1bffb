"""FlatSerializer: fields built once per class, copied per use, and only plain fields allowed."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from backend.core.serializers import FlatSerializer


class Point(FlatSerializer):
    x = serializers.IntegerField(min_value=0)
    label = serializers.CharField(required=False)


def test_each_use_validates_with_fields_of_its_own():
    good, bad = Point(data={"x": 3, "label": "a"}), Point(data={"x": -1})
    assert good.is_valid() and good.validated_data == {"x": 3, "label": "a"}
    assert not bad.is_valid() and set(bad.errors) == {"x"}
    assert good.fields["x"] is not bad.fields["x"] and good.fields["x"].parent is good
    declared = Point._declared_fields["x"]
    assert declared.parent is None and declared.field_name is None  # the class's own stays unbound


@pytest.mark.parametrize(
    "field",
    [serializers.ListField(child=serializers.IntegerField()), serializers.DictField(), serializers.Serializer()],
)
def test_nested_fields_are_refused_when_the_class_is_made(field):
    with pytest.raises(TypeError, match="plain fields only"):
        type("Nested", (FlatSerializer,), {"inner": field})
