"""api/v1/ resolves through the first-segment index exactly as through Django's full list."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

from backend.core.resolvers import ANY, IndexedResolver, _segments


def api_resolver() -> IndexedResolver:
    found = [p for p in get_resolver().url_patterns if isinstance(p, IndexedResolver)]
    assert len(found) == 1, "api/v1/ is the one indexed include"
    return found[0]


def plain_twin(indexed: IndexedResolver) -> URLResolver:
    return URLResolver(indexed.pattern, list(indexed.url_patterns))


def sample(regex_or_route: str) -> str:
    """A path a pattern matches: every group or converter filled with 1."""
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", regex_or_route)
    text = re.sub(r"<(?:\w+:)?\w+>", "1", text)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def every_path(patterns, prefix: str = "") -> list[str]:
    paths = []
    for pattern in patterns:
        here = prefix + sample(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            paths += every_path(pattern.url_patterns, here)
        else:
            paths.append(here)
    return paths


def outcome(resolver: URLResolver, path: str):
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return None
    return (match.func, match.url_name, match.args, match.kwargs, match.route, match.namespaces)


def test_every_route_of_the_api_resolves_as_without_the_index():
    indexed = api_resolver()
    plain = plain_twin(indexed)
    paths = every_path(indexed.url_patterns, "api/v1/")
    assert len(paths) > 100
    # Each route, and near misses: without its slash, with a segment glued on, an unknown segment.
    variants = {p for path in paths for p in (path, path.rstrip("/"), path + "x/", path.replace("/", "x/", 3))}
    variants |= {"api/v1/", "api/v1/nothing-here/", "api/v1//", "api/v1/notices.json", "api/v2/notices/"}
    matched = 0
    for path in sorted(variants):
        expected = outcome(plain, path)
        assert outcome(indexed, path) == expected, path
        matched += expected is not None
    assert matched >= len(paths)


def test_the_index_tries_only_the_includes_of_the_first_segment():
    indexed = api_resolver()
    candidates = indexed._resolver_for("notices").url_patterns
    assert 1 <= len(candidates) < len(indexed.url_patterns) / 2


def test_a_pattern_whose_start_cannot_be_told_is_tried_for_every_path():
    glued = URLResolver(RoutePattern("act", is_endpoint=False), [])  # matches "actions/…" as well
    assert _segments(glued) is ANY
    assert _segments(URLPattern(RoutePattern("<int:pk>/", is_endpoint=True), lambda r: None)) is ANY
    assert _segments(URLPattern(RoutePattern("me/", is_endpoint=True), lambda r: None)) == {"me"}


@pytest.mark.parametrize("count", [600])
def test_made_up_segments_do_not_grow_the_table(count):
    indexed = api_resolver()
    for index in range(count):
        outcome(indexed, f"api/v1/made-up-{index}/")
    assert len(indexed._by_segment) <= 512
