"""Reads for brands: who sees which brand and plan, due dates, and whom to tell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from backend.accounts.models import Role, RoleGrant
from backend.communities.models import Community
from backend.core.moderation import visible_q, with_review
from backend.core.scoping import get_scope, scope_q

from .models import Brand, BrandDeadline, BrandDeadlineCommunity, BrandPlan, Honor

COMMUNITY_ROLES = (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF)


def _brand_scope_q(user: Any, prefix: str = "") -> Q:
    return scope_q(user, community=f"{prefix}community", street=f"{prefix}community__street")


def visible_brands(user: Any) -> QuerySet[Brand]:
    """Published brands WeChat has passed for everyone (anonymous too); any status for the staff
    whose scope covers them."""
    return (
        with_review(Brand.objects.all())
        .filter((Q(status=Brand.Status.ACTIVE) & visible_q()) | _brand_scope_q(user))
        .select_related("community__street", "logo")
        .order_by("id")
    )


def staff_brands(user: Any) -> QuerySet[Brand]:
    """Brands of the communities in the user's staff scope, whatever their status."""
    return Brand.objects.filter(_brand_scope_q(user)).select_related("community__street", "logo").order_by("id")


def honorable_brands(user: Any) -> QuerySet[Brand]:
    """Brands an honour may be recorded for by this user: published (or retired) ones in scope."""
    return staff_brands(user).exclude(status=Brand.Status.DRAFT)


def _due_date_subquery() -> Subquery:
    return Subquery(
        BrandDeadlineCommunity.objects.filter(
            community_id=OuterRef("brand__community_id"), year=OuterRef("year")
        ).values("deadline__due_date")[:1]
    )


def plans_of(brand: Brand) -> QuerySet[BrandPlan]:
    """A brand's plan versions, newest first, each with `due_date` from its community's deadline."""
    return (
        BrandPlan.objects.filter(brand=brand)
        .annotate(due_date=_due_date_subquery())
        .select_related("author", "submitted_by", "reviewed_by")
        .prefetch_related("attachment_links__upload")
        .order_by("-version")
    )


def plan_with_due_date(plan: BrandPlan) -> BrandPlan:
    return plans_of(plan.brand).get(pk=plan.pk)


def deadlines_for(user: Any) -> QuerySet[BrandDeadline]:
    """Deadlines of the streets the user administers (nobody else sets or reads them here)."""
    return (
        BrandDeadline.objects.filter(scope_q(user, street="street"))
        .select_related("street")
        .prefetch_related("communities")
        .order_by("due_date", "id")
    )


def deadline_community_choices(user: Any, *, street_id: int | None = None) -> QuerySet[Community]:
    """Communities a street admin may put under a deadline: those of their streets (or of one of them)."""
    communities = Community.objects.filter(scope_q(user, street="street")).select_related("street")
    if street_id is not None:
        communities = communities.filter(street_id=street_id)
    return communities.order_by("street_id", "id")


def honors_for(user: Any) -> QuerySet[Honor]:
    """Honours are public record to every signed-in user."""
    return Honor.objects.select_related("street", "brand", "organization").order_by("-awarded_on", "-id")


def community_staff_ids(community_ids: Iterable[int]) -> dict[int, list[int]]:
    """The active secretaries and staff of each community: who plan reminders and reviews go to."""
    found: dict[int, set[int]] = defaultdict(set)
    grants = RoleGrant.objects.filter(
        role__in=COMMUNITY_ROLES,
        community_id__in=list(community_ids),
        revoked_at__isnull=True,
        user__is_active=True,
    ).values_list("community_id", "user_id")
    for community_id, user_id in grants:
        found[community_id].add(user_id)
    return {community_id: sorted(users) for community_id, users in found.items()}


def street_admin_ids(street_id: int) -> list[int]:
    return sorted(
        set(
            RoleGrant.objects.filter(
                role=Role.STREET_ADMIN, street_id=street_id, revoked_at__isnull=True, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    )


def holds_community_role(user: Any, community_id: int) -> bool:
    """A secretary or staff member of this very community (a street admin's reach does not count)."""
    scope = get_scope(user)
    if scope.is_superuser:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return RoleGrant.objects.filter(
        user=user, role__in=COMMUNITY_ROLES, community_id=community_id, revoked_at__isnull=True
    ).exists()
