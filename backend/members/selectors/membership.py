"""Membership facts: who is registered where, which units are tied to which community, the year."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from backend.accounts.scoping import get_scope
from backend.core.errors import DomainError
from backend.core.periods import parse_period

from ..models import MemberRegistration, PartyMember, UnitRegistration
from ..registry import report_lines

APPROVED = MemberRegistration.Status.APPROVED


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def current_year() -> int:
    return timezone.localdate().year


def my_report_line(user: Any, period: str) -> dict[str, Any] | None:
    """The user's own line of the 双报告 for a period written as the API writes it (already
    validated), from whichever app registered it; None when none did or the user is no member."""
    provider = report_lines.get("line")
    if provider is None:
        return None
    return provider(user, parse_period(period), label=period)


def min_posts_per_member() -> int:
    return int(settings.MEMBER_MIN_POSTS)


# Membership facts -----------------------------------------------------------------------------


def approved_member_anywhere(user: Any) -> bool:
    """Whether the user is a registered (approved) member of some community."""
    return _signed_in(user) and PartyMember.objects.filter(user=user, registrations__status=APPROVED).exists()


def approved_member_in(user: Any, community_id: int) -> PartyMember | None:
    """The user's member record if they are a registered (approved) member of that community."""
    if not _signed_in(user):
        return None
    return (
        PartyMember.objects.filter(user=user, registrations__community_id=community_id, registrations__status=APPROVED)
        .select_related("user")
        .first()
    )


def registered_community_ids(user: Any) -> set[int]:
    if not _signed_in(user):
        return set()
    return set(
        MemberRegistration.objects.filter(member__user=user, status=APPROVED).values_list("community_id", flat=True)
    )


def unit_community_ids(organization_ids: Iterable[int]) -> set[int]:
    """Communities with which any of these organisations is registered (approved)."""
    ids = list(organization_ids)
    if not ids:
        return set()
    return set(
        UnitRegistration.objects.filter(organization_id__in=ids, status=UnitRegistration.Status.APPROVED).values_list(
            "community_id", flat=True
        )
    )


def unit_registered_with(organization_id: int, community_id: int) -> bool:
    return UnitRegistration.objects.filter(
        organization_id=organization_id, community_id=community_id, status=UnitRegistration.Status.APPROVED
    ).exists()


def liaison_community_ids(user: Any) -> set[int]:
    """Communities a liaison reaches: those with which a unit they are liaison for is registered
    (approved). A grant for a unit whose tie is pending or ended reaches nothing."""
    return unit_community_ids(get_scope(user).organization_ids)


def liaison_tie_q(user: Any, *, organization: str, community: str) -> Q:
    """Rows naming one of the liaison's units (`organization`) in a community (`community`) that
    this very unit is registered (approved) with. A liaison of several units reaches each unit's
    rows only where that unit's tie is: the pair decides, never the unit or the community alone."""
    organization_ids = get_scope(user).organization_ids
    if not organization_ids:
        return Q(pk__in=[])
    tie = UnitRegistration.objects.filter(
        organization_id=OuterRef(organization),
        community_id=OuterRef(community),
        status=UnitRegistration.Status.APPROVED,
    )
    return Q(**{f"{organization}__in": organization_ids}) & Q(Exists(tie))


def community_user_ids(community_ids: Iterable[int]) -> set[int]:
    """Users registered (approved) with these communities: the notice audience providers' answer."""
    return set(
        MemberRegistration.objects.filter(community_id__in=list(community_ids), status=APPROVED).values_list(
            "member__user_id", flat=True
        )
    )


def street_user_ids(street_ids: Iterable[int]) -> set[int]:
    return set(
        MemberRegistration.objects.filter(community__street_id__in=list(street_ids), status=APPROVED).values_list(
            "member__user_id", flat=True
        )
    )


def grid_user_ids(grid_ids: Iterable[int]) -> set[int]:
    return set(
        MemberRegistration.objects.filter(grid_id__in=list(grid_ids), status=APPROVED).values_list(
            "member__user_id", flat=True
        )
    )


def require_staff(user: Any) -> None:
    """Staff pages and writes are refused before their input is read: whoever holds no staff role
    hears permission_denied, not what their input lacks (the service then checks the community)."""
    if not get_scope(user).is_staff:
        raise DomainError("permission_denied", "需要社区工作人员权限")


def require_staff_or_liaison(user: Any) -> None:
    """The member list is for staff and for units' liaisons (who see their own unit's members).
    A liaison whose unit is registered (approved) nowhere has no members to read: refused like
    anyone without a role, rather than shown an empty list."""
    scope = get_scope(user)
    if not (scope.is_staff or liaison_community_ids(user)):
        raise DomainError("permission_denied", "需要社区工作人员或单位联络员权限")
