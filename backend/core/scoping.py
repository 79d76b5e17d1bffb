"""The scoping interface every app calls; accounts provides it (it knows the roles and the map).

Lower apps (communities) cannot import accounts, so the functions here ask the provider that
`AccountsConfig.ready()` registers. Higher apps may use either this or `accounts.scoping`.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.db.models import Model, Q, QuerySet

from .registry import Registry


class ScopeProvider(Protocol):
    """What accounts answers (its `scoping` module registers itself under "accounts")."""

    def get_scope(self, user: Any) -> Any: ...

    def scope_q(self, user: Any, **paths: Any) -> Q: ...

    def can_act_on_community(self, user: Any, community_id: int | None) -> bool: ...

    def limit_choices(self, user: Any, model: type[Model]) -> QuerySet | None: ...


scope_provider: Registry[ScopeProvider] = Registry("scope", required=["accounts"])


def _provider() -> ScopeProvider:
    return scope_provider["accounts"]


def get_scope(user: Any):
    """The user's scope: street_ids, community_ids, grid_ids, organization_ids, is_staff, …"""
    return _provider().get_scope(user)


def scope_q(user: Any, **paths: Any) -> Q:
    return _provider().scope_q(user, **paths)


def scope_filter(qs: QuerySet, user: Any, **paths: Any) -> QuerySet:
    return qs.filter(scope_q(user, **paths))


def can_act_on_community(user: Any, community_id: int | None) -> bool:
    return _provider().can_act_on_community(user, community_id)


def limit_choices(user: Any, model: type[Model]) -> QuerySet | None:
    """The rows of a place model (street, community, grid) a staff member may pick, or None."""
    return _provider().limit_choices(user, model)
