"""The scoping interface every app calls; accounts provides it (it knows the roles and the map).

Lower apps (communities) cannot import accounts, so the functions here ask the provider that
`AccountsConfig.ready()` registers. Higher apps may use either this or `accounts.scoping`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet

from .registry import Registry

scope_provider = Registry("scope")


def _provider(name: str):
    fn = scope_provider.get(name)
    if fn is None:  # pragma: no cover - accounts is always installed
        raise RuntimeError(f"no scope provider {name!r}: is backend.accounts installed?")
    return fn


def get_scope(user: Any):
    """The user's scope: street_ids, community_ids, grid_ids, organization_ids, is_staff, …"""
    return _provider("get_scope")(user)


def scope_q(user: Any, **paths: Any) -> Q:
    return _provider("scope_q")(user, **paths)


def scope_filter(qs: QuerySet, user: Any, **paths: Any) -> QuerySet:
    return qs.filter(scope_q(user, **paths))


def can_act_on_community(user: Any, community_id: int | None) -> bool:
    return _provider("can_act_on_community")(user, community_id)


def limit_choices(user: Any, model: type[Model]) -> QuerySet | None:
    """The rows of a place model (street, community, grid) a staff member may pick, or None."""
    return _provider("limit_choices")(user, model)
