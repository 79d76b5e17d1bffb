"""Every API endpoint, from the URL conf itself: a route added anywhere shows up here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIXES = ("api/",)
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Endpoint:
    route: str  # "api/v1/members/registrations/{pk}/approve/"
    view: type | None
    methods: tuple[str, ...]  # upper case, what the view answers besides OPTIONS/HEAD
    kwargs: tuple[str, ...]  # the path's parameters, in order
    actions: dict | None  # a viewset's method → action map

    @property
    def key(self) -> str:
        return self.route.removeprefix("api/v1/")

    def path(self, values: dict[str, object]) -> str:
        return "/" + re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), self.route)


def _clean(pattern: str) -> str:
    pattern = pattern.replace("^", "").replace("$", "")
    pattern = _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern)
    return _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", pattern)


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + _clean(str(entry.pattern)))
        else:
            yield prefix + _clean(str(entry.pattern)), entry


def _methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        # DRF adds "head" to a viewset's map on its first GET: what the URL conf says must not depend
        # on which requests ran before.
        return tuple(sorted(m.upper() for m in actions if m != "head"))
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return ("GET",)
    names = getattr(cls, "http_method_names", ["get"])
    return tuple(sorted(m.upper() for m in names if m not in ("options", "head", "trace") and hasattr(cls, m)))


def api_endpoints() -> list[Endpoint]:
    found: dict[str, Endpoint] = {}
    for route, pattern in _walk(get_resolver()):
        if not route.startswith(API_PREFIXES):
            continue
        callback = pattern.callback
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        kwargs = tuple(re.findall(r"\{(\w+)\}", route))
        # DRF's format-suffix twins (`.json`) answer what their plain route answers.
        if "format" in kwargs:
            continue
        found.setdefault(
            route,
            Endpoint(route, view, _methods(callback), kwargs, dict(getattr(callback, "actions", None) or {}) or None),
        )
    return sorted(found.values(), key=lambda e: e.route)
