"""An include of includes that tries only the ones that can match the path's first segment.

`api/v1/` includes every app's URLs under an empty prefix. Django tries the includes in order and
each one's patterns in order, and for every miss it records the patterns it tried (for the debug
404 page): a request for `notices/…` built and copied lists for every pattern of the five apps
listed before notices, about a tenth of a plain signed-in read's CPU (docs/benchmarks.md). Every
pattern under `api/v1/` starts with a literal segment (`notices/`, `activities/`, …), so the
first segment of a path already rules out most includes.

`IndexedResolver` keeps every pattern, in order, for `reverse()` and anything else that walks
them; only `resolve()` changes: it asks a resolver of the same prefix over the includes that can
match the first segment, still in their order. An include is kept for a segment when one of its
patterns could begin with it, and whenever that cannot be told from a pattern (a regex that is not
plain text up to its first `/`, a converter in the first segment): so the first match is the one
the full list would give (tests/core/test_resolvers.py holds every route of the API to that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern

# Regex syntax: a first segment holding any of these is not plain text.
_REGEX_SPECIAL = re.compile(r"[\\.^$*+?{}\[\]|()]")
# Distinct first segments remembered per resolver; beyond it (a scan of made-up paths) each request
# works its candidates out again instead of growing the table.
MAX_SEGMENTS = 512


class _Any:
    """A pattern whose first segment cannot be told: a candidate for every path."""


ANY = _Any()
Prefixes = set[str] | _Any


def _first_segment(pattern: Any) -> str | _Any:
    """The literal text a pattern's match must start with, up to its first `/` (or the whole
    pattern when it has none); ANY when that cannot be told."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        if "/" not in route and route and not getattr(pattern, "_is_endpoint", True):
            return ANY  # a prefix without a slash: the path's segment may go on past it
        head = route.split("/", 1)[0]
        return ANY if "<" in head else head
    if isinstance(pattern, RegexPattern):
        regex = str(pattern)
        if not regex.startswith("^"):
            return ANY
        head = regex[1:].split("/", 1)[0]
        if "/" not in regex[1:]:
            # The whole pattern is one segment: plain text only if it ends the match there.
            if not head.endswith("$"):
                return ANY
            head = head[:-1]
        return ANY if _REGEX_SPECIAL.search(head) else head
    return ANY


def _segments(pattern: URLPattern | URLResolver) -> Prefixes:
    """Every first segment a path this pattern matches can have (ANY: any)."""
    head = _first_segment(pattern.pattern)
    if isinstance(head, _Any):
        return ANY
    if head != "" or isinstance(pattern, URLPattern):
        return {head}
    # An include under an empty prefix: whatever its own patterns start with.
    found: set[str] = set()
    for inner in pattern.url_patterns:
        inner_segments = _segments(inner)
        if isinstance(inner_segments, _Any):
            return ANY
        found |= inner_segments
    return found


class IndexedResolver(URLResolver):
    """A URLResolver whose `resolve()` tries only the patterns the path's first segment allows."""

    def __init__(self, pattern: Any, urlconf_name: Sequence[Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(pattern, urlconf_name, *args, **kwargs)
        self._by_segment: dict[str, URLResolver] = {}
        self._segments: list[Prefixes] | None = None

    def _resolver_for(self, segment: str) -> URLResolver:
        resolver = self._by_segment.get(segment)
        if resolver is not None:
            return resolver
        if self._segments is None:
            self._segments = [_segments(pattern) for pattern in self.url_patterns]
        candidates = [
            pattern
            for pattern, segments in zip(self.url_patterns, self._segments, strict=True)
            if isinstance(segments, _Any) or segment in segments
        ]
        resolver = URLResolver(self.pattern, candidates, self.default_kwargs, self.app_name, self.namespace)
        if len(self._by_segment) < MAX_SEGMENTS:
            self._by_segment[segment] = resolver
        return resolver

    def resolve(self, path: Any) -> Any:
        path = str(path)
        match = self.pattern.match(path)
        if not match:
            return super().resolve(path)
        rest = match[0]
        return self._resolver_for(rest.split("/", 1)[0]).resolve(path)


def indexed_include(route: str, patterns: Sequence[URLPattern | URLResolver]) -> IndexedResolver:
    """`path(route, include(patterns))`, resolved through the index above."""
    return IndexedResolver(RoutePattern(route, is_endpoint=False), list(patterns))
