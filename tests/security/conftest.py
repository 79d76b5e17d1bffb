"""Fixtures for the security checks, and the figures they print at the end of the run.

They run only when asked for (`make test-security`, `pytest -m security`): `make test` leaves them
out, and CI runs them as a leg of their own.
"""

from __future__ import annotations

import pytest
from rest_framework.views import APIView

from .world import World, build_world

# name → one line, printed by `make test-security` (pytest's terminal summary).
FIGURES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    for name, line in FIGURES.items():
        terminalreporter.write_line(f"{name}: {line}")


def pytest_collection_modifyitems(config, items):
    if "security" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="a security check: run with `make test-security` (pytest -m security)")
    for item in items:
        if item.get_closest_marker("security"):
            item.add_marker(skip)


@pytest.fixture
def figures() -> dict[str, str]:
    return FIGURES


@pytest.fixture
def no_throttles(monkeypatch):
    """Thousands of requests from a few users: the throttles are tested on their own (test_limits)."""
    monkeypatch.setattr(APIView, "get_throttles", lambda self: [])


@pytest.fixture
def world(db) -> World:
    return build_world()
