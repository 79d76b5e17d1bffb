"""The scope's reads written once, held to the ORM's reading of the same grants and map."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant
from backend.accounts.scoping import Scope, forget_scope, get_scope
from backend.communities.models import Community, Grid
from tests import factories

pytestmark = pytest.mark.django_db


def orm_scope(user) -> Scope:
    """The scope as the ORM computed it before the statements were written out."""
    grants = list(
        RoleGrant.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "role", "street_id", "community_id", "grid_id", "organization_id"
        )
    )
    streets = {s for r, s, _c, _g, _o in grants if r == Role.STREET_ADMIN}
    own = {c for r, _s, c, _g, _o in grants if r in (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF)}
    secretary = {c for r, _s, c, _g, _o in grants if r == Role.COMMUNITY_SECRETARY}
    workers = {g for r, _s, _c, g, _o in grants if r == Role.GRID_WORKER}
    organizations = {o for r, _s, _c, _g, o in grants if r == Role.UNIT_LIAISON}
    communities = own | set(Community.objects.filter(street_id__in=streets).values_list("id", flat=True))
    grids = workers | set(Grid.objects.filter(community_id__in=communities).values_list("id", flat=True))
    if streets:
        secretary |= communities
    return Scope(False, *(frozenset(ids) for ids in (streets, communities, secretary, grids, workers, organizations)))


@pytest.fixture
def world():
    north, south = factories.StreetFactory(), factories.StreetFactory()
    communities = [factories.CommunityFactory(street=street) for street in (north, north, south)]
    grids = [factories.GridFactory(community=community) for community in communities for _ in range(2)]
    unit = factories.UnitOrganizationFactory()
    return north, south, communities, grids, unit


def _grants(world):
    north, south, communities, grids, unit = world
    cases = {
        "nobody": [],
        "street admin": [(Role.STREET_ADMIN, north)],
        "secretary": [(Role.COMMUNITY_SECRETARY, communities[2])],
        "staff of two": [(Role.COMMUNITY_STAFF, communities[0]), (Role.COMMUNITY_STAFF, communities[2])],
        "grid worker": [(Role.GRID_WORKER, grids[1])],
        "liaison": [(Role.UNIT_LIAISON, unit)],
        "everything": [
            (Role.STREET_ADMIN, south),
            (Role.COMMUNITY_SECRETARY, communities[0]),
            (Role.GRID_WORKER, grids[3]),
        ],
    }
    return cases


def test_every_kind_of_grant_reads_as_the_orm_reads_it(world):
    for name, grants in _grants(world).items():
        user = factories.UserFactory()
        for role, place in grants:
            factories.grant(user, role, place)
        assert get_scope(user) == orm_scope(user), name


def test_revoked_grants_are_left_out(world):
    user = factories.UserFactory()
    factories.grant(user, Role.STREET_ADMIN, world[0])
    kept = factories.grant(user, Role.COMMUNITY_SECRETARY, world[2][2])
    RoleGrant.objects.exclude(pk=kept.pk).filter(user=user).update(revoked_at=timezone.now())
    forget_scope(user)
    scope = get_scope(user)
    assert scope == orm_scope(user)
    assert scope.street_ids == frozenset() and scope.community_ids == {world[2][2].pk}
