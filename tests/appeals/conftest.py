"""The map and the people around one community's appeals, and the events they are sent."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from backend.accounts.models import Role
from backend.appeals import services
from tests import factories


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # The factories set a password on every user; these tests never log in with one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def town(street, community, other_community, resident):
    """东湖 community with two grids, its people, and a neighbouring community with its own."""
    grid = factories.GridFactory(community=community, name="第一网格")
    second_grid = factories.GridFactory(community=community, name="第二网格")
    other_grid = factories.GridFactory(community=other_community, name="第一网格")
    t = SimpleNamespace(
        street=street,
        community=community,
        other_community=other_community,
        grid=grid,
        second_grid=second_grid,
        other_grid=other_grid,
        estate=factories.EstateFactory(community=community, grid=grid, name="东湖雅苑"),
        estate_without_grid=factories.EstateFactory(community=community, grid=None, name="老街小区"),
        other_estate=factories.EstateFactory(community=other_community, grid=other_grid, name="樟村花园"),
        resident=resident,
        neighbour=factories.UserFactory(),
        secretary=factories.staff_of(community, Role.COMMUNITY_SECRETARY),
        staff=factories.staff_of(community, Role.COMMUNITY_STAFF),
        street_admin=factories.admin_of(street),
        worker=factories.UserFactory(),
        second_worker=factories.UserFactory(),
        other_staff=factories.staff_of(other_community),
        other_worker=factories.UserFactory(),
    )
    factories.grant(t.worker, Role.GRID_WORKER, grid)
    factories.grant(t.second_worker, Role.GRID_WORKER, second_grid)
    factories.grant(t.other_worker, Role.GRID_WORKER, other_grid)
    return t


@pytest.fixture
def file_appeal(town):
    """`file_appeal(**overrides)`: the resident files an appeal on 东湖雅苑 through the service."""

    def file(**overrides):
        kwargs = {
            "by": town.resident,
            "client_id": uuid.uuid4(),
            "community": town.community,
            "estate": town.estate,
            "category": "environment",
            "content": "3栋楼道堆放杂物, 影响通行",
        }
        kwargs.update(overrides)
        appeal, _created = services.submit_appeal(**kwargs)
        return appeal

    return file
