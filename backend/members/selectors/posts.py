"""Service posts and who holds them."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from backend.accounts.scoping import can_act_on_community, scope_q
from backend.core.errors import DomainError

from ..models import PostAssignment, ServicePost
from .membership import _signed_in


def posts_for(user: Any) -> QuerySet[ServicePost]:
    """Active posts are public to signed-in users; staff also see their communities' inactive ones."""
    if not _signed_in(user):
        return ServicePost.objects.none()
    taken = (
        PostAssignment.objects.filter(post=OuterRef("pk"), left_at__isnull=True)
        .order_by()
        .values("post")
        .annotate(n=Count("id"))
        .values("n")
    )
    mine = PostAssignment.objects.filter(post=OuterRef("pk"), left_at__isnull=True, member__user=user)
    return (
        ServicePost.objects.filter(Q(is_active=True) | scope_q(user, community="community", street="community__street"))
        .select_related("community")
        .annotate(taken=Coalesce(Subquery(taken, output_field=IntegerField()), Value(0)), held_by_me=Exists(mine))
        .order_by("id")
    )


def editable_posts(user: Any) -> QuerySet[ServicePost]:
    """Posts the user may change: those of the communities in their staff scope."""
    return posts_for(user).filter(scope_q(user, community="community", street="community__street"))


def post_holders(post: ServicePost, *, by: Any) -> QuerySet[PostAssignment]:
    """Who holds the post now; a list of party members, so for the staff of its community only."""
    if not can_act_on_community(by, post.community_id):
        raise DomainError("permission_denied", "需要本社区工作人员权限")
    return (
        PostAssignment.objects.filter(post=post, left_at__isnull=True)
        .select_related("member", "member__user")
        .order_by("claimed_at", "id")
    )
