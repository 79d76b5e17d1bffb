"""Fixtures for the security checks, and the figures they print at the end of the run.

They run only when asked for (`make test-security`, `pytest -m security`): `make test` leaves them
out, and CI runs them as a leg of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from rest_framework.views import APIView

from .world import World, build_world

# name → one line, printed by `make test-security` (pytest's terminal summary).
FIGURES: dict[str, str] = {}

# The run's figures, for scripts/security_figures.py to write into docs/security.md.
FIGURES_FILE = Path(
    os.environ.get("SECURITY_FIGURES_FILE", Path(__file__).resolve().parents[2] / "var" / "security-figures.json")
)

# Whether this run selected the security checks (`-m security`); other runs print and record nothing.
SELECTED: list[bool] = []

# Limits (`@pytest.mark.limit(name)`): nodeid → name, and the outcome each test reached.
LIMITS: dict[str, str] = {}
LIMIT_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report):
    if report.nodeid not in LIMITS:
        return
    if report.failed:
        LIMIT_OUTCOMES[report.nodeid] = "broken"
    elif report.skipped:
        LIMIT_OUTCOMES.setdefault(report.nodeid, "skipped")
    elif report.when == "call":
        LIMIT_OUTCOMES.setdefault(report.nodeid, "held")


def limits_figure() -> str | None:
    if not LIMIT_OUTCOMES:
        return None
    by_outcome: dict[str, list[str]] = {"held": [], "broken": [], "skipped": []}
    for nodeid, outcome in LIMIT_OUTCOMES.items():
        by_outcome[outcome].append(LIMITS[nodeid])
    line = f"{len(by_outcome['held'])} held, {len(by_outcome['broken'])} broken ({', '.join(by_outcome['held'])})"
    if by_outcome["broken"]:
        line += f"; broken: {', '.join(by_outcome['broken'])}"
    if by_outcome["skipped"]:
        line += f"; skipped: {', '.join(by_outcome['skipped'])}"
    return line


def pytest_terminal_summary(terminalreporter):
    if not any(SELECTED):
        return
    limits = limits_figure()
    if limits is not None:
        FIGURES["limits"] = limits
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    for name, line in FIGURES.items():
        terminalreporter.write_line(f"{name}: {line}")
    record_run(FIGURES)


def record_run(figures: dict[str, str]) -> None:
    """Appends this run to the figures file (`make test-security` removes it before its first run)."""
    from django.db import connection

    try:
        runs = json.loads(FIGURES_FILE.read_text())["runs"]
    except (OSError, ValueError, KeyError):
        runs = []
    runs.append({"database": connection.vendor, "date": dt.datetime.now(dt.UTC).date().isoformat(), "figures": figures})
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=2) + "\n")


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("limit")
        if marker is not None:
            LIMITS[item.nodeid] = marker.args[0]
    SELECTED.append("security" in (config.getoption("markexpr") or ""))
    if SELECTED[-1]:
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
