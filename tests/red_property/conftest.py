"""Fixtures for red property: the people involved, an estate, and a fixed clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    """The secretary of a neighbouring community in the same street."""
    return factories.staff_of(other_community)


@pytest.fixture
def estate(community):
    return factories.EstateFactory(community=community, name="巴陵苑", households=380)


@pytest.fixture
def clock(monkeypatch):
    """`clock(2026, 3, 1, 23, 59)` fixes what `timezone.now()` answers, given in Shanghai time."""

    def set_now(*parts: int) -> datetime:
        moment = datetime(*parts, tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_now
