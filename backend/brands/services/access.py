"""Who may do what with brands, plans, deadlines and honours; and the refusals they hear.

The `require_*` checks are what services ask first, and what views ask before reading a body, so
whoever may not act hears 403 whatever their input lacks.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, can_act_on_street, get_scope
from backend.core.errors import DomainError

from .. import selectors
from ..models import Brand


def denied(detail: str) -> DomainError:
    return DomainError("permission_denied", detail)


def invalid_transition(detail: str) -> DomainError:
    return DomainError("invalid_transition", detail)


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


def is_street_admin(user: User) -> bool:
    """An admin of some street (which street's records, each check asks on the record)."""
    scope = get_scope(user)
    return scope.is_superuser or bool(scope.street_ids)


def require_staff(*, by: User) -> None:
    """Starting a brand takes a staff role (which community's brand, the service checks on the body)."""
    if not get_scope(by).is_staff:
        raise denied(_("需要社区工作人员权限"))


def require_brand_editor(*, by: User, brand: Brand, detail: str | None = None) -> None:
    if not can_edit_brand(user=by, community_id=brand.community_id):
        raise denied(detail or _("只能修改本社区(街道)的品牌"))


def require_plan_writer(*, by: User, brand: Brand, detail: str | None = None) -> None:
    if not can_write_plans(user=by, brand=brand):
        raise denied(detail or _("品牌方案由本社区工作人员编写"))


def require_plan_reviewer(*, by: User, brand: Brand) -> None:
    if not can_review_plans(user=by, brand=brand):
        raise denied(_("品牌方案由街道审核"))


def require_street_admin(*, by: User, street_id: int, detail: str) -> None:
    if not can_manage_street(user=by, street_id=street_id):
        raise denied(detail)


def require_honor_keeper(*, by: User, street_id: int, detail: str | None = None) -> None:
    """Honours are recorded by the admins of their street."""
    require_street_admin(by=by, street_id=street_id, detail=detail or _("只有本街道的管理员可以修改荣誉"))
