"""The console's tests. Those marked `browser` drive Debian's chromium against a live daphne and
run only when asked for (`make test-browser`, `pytest -m browser`); `make test` leaves them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from backend.accounts.models import Role
from tests import factories


def pytest_collection_modifyitems(config, items):
    if "browser" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="a browser test: run with `make test-browser` (pytest -m browser)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@dataclass
class Places:
    street: Any
    other_street: Any
    home: Any  # the object's community
    neighbour: Any  # another community of the same street
    secretary: Any
    neighbour_secretary: Any
    street_admin: Any
    other_street_admin: Any


@pytest.fixture
def places(db) -> Places:
    street, other_street = factories.StreetFactory(), factories.StreetFactory()
    home = factories.CommunityFactory(street=street)
    neighbour = factories.CommunityFactory(street=street)
    return Places(
        street=street,
        other_street=other_street,
        home=home,
        neighbour=neighbour,
        secretary=factories.staff_of(home, Role.COMMUNITY_SECRETARY),
        neighbour_secretary=factories.staff_of(neighbour, Role.COMMUNITY_SECRETARY),
        street_admin=factories.admin_of(street),
        other_street_admin=factories.admin_of(other_street),
    )
