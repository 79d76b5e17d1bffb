"""Who may do what with brands, plans, deadlines and honours; and the refusals they hear."""

from __future__ import annotations

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, can_act_on_street
from backend.core.errors import DomainError

from .. import selectors
from ..models import (
    Brand,
)


def denied(detail: str) -> DomainError:
    return DomainError("permission_denied", detail)


def invalid_transition(detail: str) -> DomainError:
    return DomainError("invalid_transition", detail)


# Who may do what --------------------------------------------------------------------------------


def can_edit_brand(*, user: User, community_id: int) -> bool:
    """The community's own staff, and the admins of its street."""
    return can_act_on_community(user, community_id)


def can_write_plans(*, user: User, brand: Brand) -> bool:
    """Plans are the community's own work: only its secretary and staff write and submit them."""
    return selectors.holds_community_role(user, brand.community_id)


def can_review_plans(*, user: User, brand: Brand) -> bool:
    """Only the admins of the brand's street review its plans."""
    return can_act_on_street(user, brand.community.street_id)


def can_manage_street(*, user: User, street_id: int) -> bool:
    return can_act_on_street(user, street_id)
