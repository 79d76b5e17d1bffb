"""Scoping in one place: what each user may see and act on, from their role grants and the map.

Every app filters its querysets through `scope_filter` (or the helpers below) and answers 404 for
objects outside the result. The scope is computed once per user object and cached on it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.db import connection
from django.db.models import Model, Q, QuerySet

from backend.communities.models import Community, Grid, PartyOrganization
from backend.core.statements import cursor as statement_cursor

from .models import Role, RoleGrant, User

_CACHE_ATTR = "_scope_cache"
# (role, street_id, community_id, grid_id, organization_id) of one active grant.
Grant = tuple[str, int | None, int | None, int | None, int | None]

STAFF_ROLES = (Role.STREET_ADMIN, Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF)


@dataclass(frozen=True)
class Scope:
    is_superuser: bool
    street_ids: frozenset[int]  # streets the user administers
    community_ids: frozenset[int]  # communities the user acts on as staff (incl. their streets')
    secretary_community_ids: frozenset[int]  # communities whose staff roles the user manages
    grid_ids: frozenset[int]  # grids the user works (grid workers), incl. grids of staff communities
    worker_grid_ids: frozenset[int]  # grids granted to the user as grid worker
    organization_ids: frozenset[int]  # organisations the user is liaison for

    @property
    def is_staff(self) -> bool:
        """Street or community staff somewhere: may use the console and staff endpoints."""
        return self.is_superuser or bool(self.community_ids or self.street_ids)

    @property
    def has_any_role(self) -> bool:
        return self.is_staff or bool(self.worker_grid_ids or self.organization_ids)


EMPTY_SCOPE = Scope(False, frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


def get_scope(user: User | None) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return EMPTY_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    return _cache_scope(user, [] if user.is_superuser else _active_grants(user.pk))


def _quoted(model: type[Model], *columns: str) -> tuple[str, ...]:
    quote = connection.ops.quote_name
    return (quote(model._meta.db_table), *(quote(column) for column in columns))


def _active_grants(user_id: int) -> list[Grant]:
    """The user's active grants, by a statement written here rather than compiled by the ORM on
    every request: the scope is read by nearly every signed-in request (docs/benchmarks.md);
    tests/accounts/test_scoping.py holds it to the ORM's reading."""
    table, role, street, community, grid, organization, user, revoked = _quoted(
        RoleGrant, "role", "street_id", "community_id", "grid_id", "organization_id", "user_id", "revoked_at"
    )
    sql = (
        f"SELECT {role}, {street}, {community}, {grid}, {organization} FROM {table} "  # noqa: S608
        f"WHERE {user} = %s AND {revoked} IS NULL"
    )
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, [user_id])
        return [(str(r), s, c, g, o) for r, s, c, g, o in cursor.fetchall()]


def _ids_where_in(model: type[Model], column: str, values: Iterable[int]) -> set[int]:
    """`SELECT id FROM <model> WHERE <column> IN (…)`, without the ORM's compiling."""
    values = sorted(values)
    table, key, where = _quoted(model, "id", column)
    marks = ", ".join(["%s"] * len(values))
    # Only quoted names and placeholders go into the text; the ids are parameters.
    sql = f"SELECT {key} FROM {table} WHERE {where} IN ({marks})"  # noqa: S608
    # The usual cursor: a text per number of ids would fill the connection's prepared statements.
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return {row[0] for row in cursor.fetchall()}


def prime_scope(user: User, grants: Iterable[RoleGrant]) -> Scope:
    """The scope from grants the caller has already read (all of the user's, revoked ones included),
    so that a request showing the grants does not read them twice."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None or not user.is_authenticated or not user.is_active:
        return get_scope(user)
    active = [
        (g.role, g.street_id, g.community_id, g.grid_id, g.organization_id) for g in grants if g.revoked_at is None
    ]
    return _cache_scope(user, active)


def _cache_scope(user: User, grants: list[Grant]) -> Scope:
    if user.is_superuser:
        scope = Scope(True, frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset())
    else:
        # Each role's grant names its place (a constraint); `is not None` tells the type checker so.
        street_ids = {s for r, s, _c, _g, _o in grants if r == Role.STREET_ADMIN and s is not None}
        own_communities = {
            c for r, _s, c, _g, _o in grants if r in (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF) and c is not None
        }
        secretary_of = {c for r, _s, c, _g, _o in grants if r == Role.COMMUNITY_SECRETARY and c is not None}
        worker_grids = {g for r, _s, _c, g, _o in grants if r == Role.GRID_WORKER and g is not None}
        organizations = {o for r, _s, _c, _g, o in grants if r == Role.UNIT_LIAISON and o is not None}
        community_ids = set(own_communities)
        if street_ids:
            community_ids |= _ids_where_in(Community, "street_id", street_ids)
        grid_ids = set(worker_grids)
        if community_ids:
            grid_ids |= _ids_where_in(Grid, "community_id", community_ids)
        if street_ids:
            secretary_of |= community_ids
        scope = Scope(
            False,
            frozenset(street_ids),
            frozenset(community_ids),
            frozenset(secretary_of),
            frozenset(grid_ids),
            frozenset(worker_grids),
            frozenset(organizations),
        )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: User) -> None:
    """Call after changing someone's grants so the next check sees them."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _none() -> Q:
    return Q(pk__in=[])


def scope_q(
    user: User | None,
    *,
    street: str | None = None,
    community: str | None = None,
    grid: str | None = None,
    organization: str | None = None,
    include_grid_workers: bool = False,
    include_liaisons: bool = False,
) -> Q:
    """A filter for rows whose place (given by the lookup paths) lies in the user's staff scope.

    Pass the paths the model has, e.g. `community="community"`, `grid="grid"`,
    `street="community__street"`. Grid workers are included only where the app says so (their
    grid's appeals and residents), unit liaisons likewise (their organisation's members).
    """
    scope = get_scope(user)
    if scope.is_superuser:
        return Q()
    q = _none()
    if street and scope.street_ids:
        q |= Q(**{f"{street}__in": scope.street_ids})
    if community and scope.community_ids:
        q |= Q(**{f"{community}__in": scope.community_ids})
    if grid and include_grid_workers and scope.worker_grid_ids:
        q |= Q(**{f"{grid}__in": scope.worker_grid_ids})
    if organization and include_liaisons and scope.organization_ids:
        q |= Q(**{f"{organization}__in": scope.organization_ids})
    return q


def scope_filter(qs: QuerySet, user: User | None, **paths) -> QuerySet:
    return qs.filter(scope_q(user, **paths))


def can_act_on_community(user: User | None, community_id: int | None) -> bool:
    scope = get_scope(user)
    return scope.is_superuser or (community_id is not None and community_id in scope.community_ids)


def can_act_on_street(user: User | None, street_id: int | None) -> bool:
    scope = get_scope(user)
    return scope.is_superuser or (street_id is not None and street_id in scope.street_ids)


def visible_communities(user: User | None) -> QuerySet[Community]:
    return scope_filter(Community.objects.all(), user, community="id", street="street")


def staff_organizations(user: User | None) -> QuerySet[PartyOrganization]:
    """Organisations a staff member acts on: those tied to their streets and communities."""
    return scope_filter(
        PartyOrganization.objects.all(),
        user,
        street="street",
        community="community",
        organization="id",
        include_liaisons=False,
    )


def limit_choices(user: User | None, model) -> QuerySet | None:
    from backend.communities.models import Place, Street

    scope = get_scope(user)
    if scope.is_superuser:
        return None
    if model is Community:
        return visible_communities(user)
    if model is Grid:
        return Grid.objects.filter(community_id__in=scope.community_ids)
    if model is Place:
        return Place.objects.filter(community_id__in=scope.community_ids).select_related("community")
    if model is Street:
        return Street.objects.filter(id__in=scope.street_ids)
    if model is PartyOrganization:
        return staff_organizations(user)
    return None


def register_provider() -> None:
    from backend.core.scoping import ScopeProvider, scope_provider

    # This module is the provider: its functions are the ScopeProvider protocol's.
    scope_provider.register("accounts", cast("ScopeProvider", sys.modules[__name__]))
