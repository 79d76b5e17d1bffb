"""The API's JSON, encoded by orjson.

DRF encodes through the standard library's `json` with an encoder class whose `default` hook is
Python: on the community's activities page (twenty rows, about 20 KB) that was a third of the
request's own instructions, and a sixth of the inbox's (docs/benchmarks.md, "Ninth pass").
orjson writes the same bytes for the same data: compact separators, UTF-8 unescaped (DRF's
`UNICODE_JSON`), keys in insertion order. What it does not know natively goes to DRF's own
encoder's `default`, so Decimals, dates, times, lazy translations, UUIDs and the rest read as they
did; datetimes included (orjson's own form differs from DRF's: `Z`, milliseconds).

What it cannot write goes through DRF's renderer unchanged: keys that are not strings, integers
beyond 64 bits, and the indented form (`Accept: application/json; indent=4`, the browsable API).
Two differences remain: a float that is not a number, which DRF refused (a 500) and this writes
as `null`; and floats below 1e-4, written without an exponent or with a shorter one (`0.00001` for
DRF's `1e-05`, `8.3e-6` for `8.3e-06`): the same number to any JSON reader (only a report's rate
under one in ten thousand can be that small).
`tests/core/test_renderers.py` holds the rest to DRF's bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_drf_default = JSONEncoder().default


def _default(value: Any) -> Any:
    # Decimals first (coordinates: two on each activity of a page): DRF's hook answers float() too,
    # after asking whether the value is a lazy string, a datetime, a date, a time or a duration.
    if type(value) is Decimal:
        return float(value)
    return _drf_default(value)


_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
# A strict JavaScript subset, as DRF's renderer writes: these two are legal in JSON strings but
# end a line in older JavaScript engines.
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.ensure_ascii or not self.compact or self._indent(accepted_media_type, renderer_context) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            # Non-string keys, integers beyond 64 bits, or what DRF's own encoder refuses as well:
            # DRF answers (or refuses) exactly as it would have.
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in content or _PARAGRAPH_SEPARATOR in content:
            content = content.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return content

    def _indent(self, accepted_media_type: str | None, renderer_context: Any) -> int | None:
        # Parsing the media type's parameters is most of get_indent's cost; a plain type has none.
        if accepted_media_type and ";" in accepted_media_type:
            return self.get_indent(accepted_media_type, renderer_context or {})
        return (renderer_context or {}).get("indent")
