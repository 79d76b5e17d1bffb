"""三单: demands, resources and service projects as the caller's scope shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.scoping import scope_q
from backend.core.moderation import visible_q, with_review

from ..models import Demand, DemandStep, Resource, ServiceProject
from .membership import (
    _signed_in,
    approved_member_in,
    liaison_community_ids,
    liaison_tie_q,
    registered_community_ids,
)


def _staff_or_grid_q(user: Any) -> Q:
    return scope_q(user, community="community", street="community__street", grid="grid", include_grid_workers=True)


def demands_for(user: Any) -> QuerySet[Demand]:
    """Staff and grid workers see their places' demands; everyone their own and those they took;
    registered members and units the open ones of their communities, to claim them. Others see a
    demand only once its content check has passed (`content_review` is null)."""
    if not _signed_in(user):
        return Demand.objects.none()
    always = _staff_or_grid_q(user) | Q(requester=user)
    # A unit's claims show to its liaisons only where the unit is still registered (approved):
    # the tie, not the grant alone, is what reaches a community.
    shared = Q(claimed_by=user) | liaison_tie_q(user, organization="claimed_organization_id", community="community_id")
    claimable = registered_community_ids(user) | liaison_community_ids(user)
    if claimable:
        shared |= Q(status=Demand.Status.OPEN, community_id__in=claimable)
    return (
        with_review(Demand.objects.all())
        .filter(always | (visible_q() & shared))
        .select_related("community", "grid", "estate", "requester", "claimed_by", "claimed_organization")
        .prefetch_related("photos")
        .order_by("-id")
    )


def demand_steps(demand: Demand) -> QuerySet[DemandStep]:
    return demand.steps.select_related("actor", "assignee").prefetch_related("evidence").order_by("id")


def demands_due_for_auto_confirmation(*, now: dt.datetime | None = None) -> QuerySet[Demand]:
    from datetime import timedelta

    now = now or timezone.now()
    cutoff = now - timedelta(days=int(settings.DEMAND_AUTO_CONFIRM_DAYS))
    return Demand.objects.filter(status=Demand.Status.DONE, done_at__lte=cutoff).order_by("id")


def resources_for(user: Any) -> QuerySet[Resource]:
    """Active resources are public to signed-in users (that is what the list is for) once their
    content check has passed; inactive or held ones only to whoever offered them and to staff in scope."""
    if not _signed_in(user):
        return Resource.objects.none()
    always = (
        Q(offered_by=user)
        | scope_q(user, community="community", street="community__street")
        | liaison_tie_q(user, organization="organization_id", community="community_id")
    )
    return (
        with_review(Resource.objects.all())
        .filter(always | (visible_q() & Q(is_active=True)))
        .select_related("community", "organization")
        .order_by("-id")
    )


def editable_resources(user: Any) -> QuerySet[Resource]:
    """Resources the user may change or withdraw: their own, their unit's where it is registered,
    their communities'."""
    editable = (
        Q(offered_by=user)
        | scope_q(user, community="community", street="community__street")
        | liaison_tie_q(user, organization="organization_id", community="community_id")
    )
    return resources_for(user).filter(editable)


def projects_for(user: Any) -> QuerySet[ServiceProject]:
    """Public to signed-in users once the content check has passed; before, to its owner, its
    creator and staff in scope."""
    if not _signed_in(user):
        return ServiceProject.objects.none()
    always = Q(owner=user) | Q(created_by=user) | scope_q(user, community="community", street="community__street")
    return (
        with_review(ServiceProject.objects.all())
        .filter(always | visible_q())
        .select_related("community", "owner")
        .prefetch_related("demands", "resources")
        .order_by("-id")
    )


def community_user_may_lead(user: User, community_id: int) -> bool:
    """Whether someone may own a community's project: its staff, a registered member, or the
    liaison of a unit registered with it."""
    from backend.accounts.scoping import can_act_on_community

    if can_act_on_community(user, community_id):
        return True
    if approved_member_in(user, community_id) is not None:
        return True
    return community_id in liaison_community_ids(user)


def editable_projects(user: Any) -> QuerySet[ServiceProject]:
    """Projects the user may change: those they own, and those of the communities in their staff scope."""
    return projects_for(user).filter(Q(owner=user) | scope_q(user, community="community", street="community__street"))
