"""Fixtures for the brand tests: the people involved, a draft brand, captured events, a fixed clock."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from tests import factories

from .factories import BrandFactory


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


@pytest.fixture
def staff(community):
    return factories.staff_of(community, Role.COMMUNITY_STAFF)


@pytest.fixture
def street_admin(street):
    return factories.admin_of(street)


@pytest.fixture
def other_staff(other_community):
    """Staff of a neighbouring community in the same street."""
    return factories.staff_of(other_community)


@pytest.fixture
def foreign_admin(db):
    """The admin of another street."""
    return factories.admin_of(factories.StreetFactory())


@pytest.fixture
def brand(community):
    return BrandFactory(community=community, name="岳阳楼下党旗红")


@pytest.fixture
def clock(monkeypatch):
    """`clock(datetime)` fixes what `timezone.now()` answers (and so `timezone.localdate()`)."""

    def set_now(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_now
