"""JSON bodies as the API accepts them: bounded in depth and free of lone surrogates.

The standard parser lets two kinds of hostile body through to a 500: a deeply nested document
raises RecursionError (not the ValueError it turns into a 400), and `"\\ud800"` decodes into a
string that cannot be encoded again, so the first cache key, throttle key or database write built
from it fails. Both are refused here, as the client's mistake: 400 `parse_error`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any body the API takes (a few levels), far shallower than the interpreter's stack.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def check(value: Any) -> Any:
    """`value` when it is no deeper than MAX_DEPTH and holds no lone surrogate; ParseError otherwise."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise ParseError(_("JSON 中含有无效的 Unicode 字符"))
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ParseError(_("JSON 嵌套过深"))
            items = item.items() if isinstance(item, dict) else enumerate(item)
            for key, sub in items:
                stack.append((key, depth + 1))
                stack.append((sub, depth + 1))
    return value


def loads(data: bytes | str) -> Any:
    """A JSON document read as the API's parser reads it (NaN and Infinity refused too)."""
    try:
        return check(json.loads(data, parse_constant=_refuse_constant))
    except RecursionError:
        raise ParseError(_("JSON 嵌套过深")) from None
    except (ValueError, UnicodeDecodeError):
        raise ParseError(_("无效的 JSON")) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON 嵌套过深")) from None
        return check(data)
