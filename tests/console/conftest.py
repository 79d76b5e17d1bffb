"""The console's tests. Those marked `browser` drive Debian's chromium against a live daphne and
run only when asked for (`make test-browser`, `pytest -m browser`); `make test` leaves them out."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "browser" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="a browser test: run with `make test-browser` (pytest -m browser)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)
