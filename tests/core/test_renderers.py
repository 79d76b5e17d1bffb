"""The API's JSON renderer (orjson) writes what DRF's renderer wrote."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers as drf_renderers
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from backend.core.renderers import JSONRenderer

ours, drf = JSONRenderer(), drf_renderers.JSONRenderer()


def both(data, media_type="application/json", context=None):
    return ours.render(data, media_type, context or {}), drf.render(data, media_type, context or {})


def test_the_api_renders_with_it():
    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is JSONRenderer


@pytest.mark.parametrize(
    "data",
    [
        {"id": 1, "title": "主题党日", "ok": True, "none": None, "n": -3, "ratio": 0.25, "big": 2**63 - 1},
        {"latitude": Decimal("29.372425"), "longitude": Decimal("113.093627"), "hours": Decimal("2.50")},
        {"at": datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC), "plain": datetime(2026, 1, 2, 3, 4, 5)},
        {"at": datetime(2026, 12, 8, 9, 0, tzinfo=timezone(timedelta(hours=8))), "on": date(2026, 12, 8)},
        {"time": time(9, 30), "long": timedelta(hours=1, minutes=30), "id": uuid.UUID(int=42)},
        {"lazy": gettext_lazy("未找到"), "tuple": (1, "二", [3]), "set_free": [], "empty": {}},
        ReturnDict({"count": 2, "results": ReturnList([{"a": 1}, {"b": "x"}], serializer=None)}, serializer=None),
        {"code": "validation_error", "detail": "请求无效", "fields": {"phone": ["必须是字符串"]}},
        [{"nested": {"deep": [{"x": "\u00e9\u4e2d\U0001f600"}]}}],
        "plain text",
        42,
    ],
)
def test_the_same_bytes_as_drf(data):
    mine, theirs = both(data)
    assert mine == theirs


def test_line_and_paragraph_separators_are_escaped_as_drf_does():
    mine, theirs = both({"body": "a\u2028b\u2029c"})
    assert mine == theirs
    assert b"\\u2028" in mine and b"\\u2029" in mine


@pytest.mark.parametrize(
    "data",
    [
        {1: "an integer key", "b": 2},  # orjson refuses keys that are not strings
        {"huge": 2**70},  # and integers beyond 64 bits
    ],
)
def test_what_orjson_cannot_write_goes_through_drf(data):
    mine, theirs = both(data)
    assert mine == theirs


def test_what_drf_refuses_is_refused_alike():
    with pytest.raises(TypeError):
        ours.render({"x": object()}, "application/json", {})
    with pytest.raises(TypeError):
        drf.render({"x": object()}, "application/json", {})


@pytest.mark.parametrize(
    ("media_type", "context"),
    [("application/json; indent=4", {}), ("application/json", {"indent": 4}), ("application/json; indent=0", {})],
)
def test_indented_forms_are_drfs(media_type, context):
    data = {"a": [1, {"b": "中"}], "at": datetime(2026, 12, 8, tzinfo=UTC)}
    mine, theirs = both(data, media_type, context)
    assert mine == theirs


def test_none_is_an_empty_body():
    assert ours.render(None) == b""


def test_a_float_that_is_not_a_number_is_null_where_drf_failed():
    with pytest.raises(ValueError):
        drf.render({"x": float("nan")}, "application/json", {})
    assert ours.render({"x": float("nan")}, "application/json", {}) == b'{"x":null}'


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_reads_back_the_same(data):
    mine, theirs = both(data)
    if data is None:
        assert mine == theirs == b""
        return
    assert json.loads(mine) == json.loads(theirs)
    if "e-" not in theirs.decode():
        # Floats below 1e-4 are the one form written differently (1e-05 against 0.00001): same number.
        assert mine == theirs
