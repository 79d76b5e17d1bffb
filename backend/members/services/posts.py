"""Service posts: staff open them, registered members take and leave them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Community
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import (
    PostAssignment,
    ServicePost,
)
from ._common import _require_staff_of


@transaction.atomic
def create_post(*, by: User, community: Community, name: str, capacity: int = 1, description: str = "") -> ServicePost:
    _require_staff_of(by, community.pk)
    if ServicePost.objects.filter(community=community, name=name).exists():
        raise field_error("name", _("该社区已有同名岗位"))
    try:
        with transaction.atomic():
            return ServicePost.objects.create(
                community=community, name=name, capacity=capacity, description=description
            )
    except IntegrityError as exc:
        raise field_error("name", _("该社区已有同名岗位")) from exc


POST_EDITABLE = {"name", "description", "capacity", "is_active"}


@transaction.atomic
def update_post(*, post: ServicePost, by: User, **changes: Any) -> ServicePost:
    unknown = set(changes) - POST_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    post = ServicePost.objects.select_for_update().get(pk=post.pk)
    _require_staff_of(by, post.community_id)
    name = changes.get("name")
    if name and ServicePost.objects.filter(community_id=post.community_id, name=name).exclude(pk=post.pk).exists():
        raise field_error("name", _("该社区已有同名岗位"))
    for field, value in changes.items():
        setattr(post, field, value)
    if changes:
        post.save(update_fields=list(changes))
    return post


@transaction.atomic
def claim_post(*, post: ServicePost, by: User) -> tuple[PostAssignment, bool]:
    """A registered member takes a post. Claiming a post already held answers with that assignment."""
    # Locking the post serialises claims, so two members cannot take its last place together.
    post = ServicePost.objects.select_for_update().get(pk=post.pk)
    member = selectors.approved_member_in(by, post.community_id)
    if member is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员可以认领岗位"))
    held = PostAssignment.objects.filter(post=post, member=member, left_at__isnull=True).first()
    if held is not None:
        return held, False
    if not post.is_active:
        raise DomainError("invalid_transition", _("该岗位已停用"))
    if PostAssignment.objects.filter(post=post, left_at__isnull=True).count() >= post.capacity:
        raise DomainError("post_full", _("该岗位名额已满"), status=409)
    return PostAssignment.objects.create(post=post, member=member), True


@transaction.atomic
def leave_post(*, post: ServicePost, by: User) -> PostAssignment | None:
    """Leave a post. Leaving one not held changes nothing, so a retried request is harmless."""
    assignment = (
        PostAssignment.objects.select_for_update().filter(post=post, member__user=by, left_at__isnull=True).first()
    )
    if assignment is None:
        return None
    assignment.left_at = timezone.now()
    assignment.save(update_fields=["left_at"])
    return assignment
