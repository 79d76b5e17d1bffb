"""Membership facts: who is registered where, which units are tied to which community, the year."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.accounts.scoping import get_scope
from backend.core.errors import DomainError
from backend.core.periods import parse_period

from ..models import MemberRegistration, PartyMember, UnitRegistration
from ..registry import report_lines

if TYPE_CHECKING:
    from .own import OwnPerson

APPROVED = MemberRegistration.Status.APPROVED


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def current_year() -> int:
    return timezone.localdate().year


def my_report_line(person: OwnPerson | None, period: str) -> dict[str, Any] | None:
    """A member's own line of the 双报告 for a period written as the API writes it (already
    validated), from whichever app registered it; None when none did or the caller is no member."""
    provider = report_lines.get("line")
    if provider is None or person is None:
        return None
    return provider(person, parse_period(period), label=period)


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


# A liaison's reach --------------------------------------------------------------------------------
#
# Every read and write that lets a unit's liaison at members, their 双报告, demands, resources or the
# unit's filings asks the functions below, and they all ask `liaison_ties`. The grant alone reaches
# nothing: a liaison reaches a community only through an approved registration of the unit that
# they filed themselves (their own tie). Another liaison of the same unit, whose tie is with another
# community, does not reach this one; a grant made by hand (roles API, create_staff) reaches nothing
# until a tie its holder filed is approved.


def liaison_ties(user: Any, organization_id: int | None = None) -> QuerySet[UnitRegistration]:
    """The liaison's own ties: approved registrations they filed for a unit they hold the liaison
    role for (optionally of one unit)."""
    if not _signed_in(user):
        return UnitRegistration.objects.none()
    organization_ids = get_scope(user).organization_ids
    if organization_id is not None:
        organization_ids = organization_ids & {organization_id}
    if not organization_ids:
        return UnitRegistration.objects.none()
    return UnitRegistration.objects.filter(
        filed_by=user, status=UnitRegistration.Status.APPROVED, organization_id__in=organization_ids
    )


def liaison_community_ids(user: Any, organization_id: int | None = None) -> set[int]:
    """Communities a liaison reaches (for one unit, or any of theirs): those of their own ties."""
    return set(liaison_ties(user, organization_id).values_list("community_id", flat=True))


def liaison_organization_ids(user: Any) -> set[int]:
    """Units the liaison reaches anywhere: those with a tie of their own."""
    return set(liaison_ties(user).values_list("organization_id", flat=True))


def liaison_reaches(user: Any, *, organization_id: int | None, community_id: int) -> bool:
    """Whether the user speaks for this unit in this community: their own tie joins the pair."""
    if organization_id is None:
        return False
    return liaison_ties(user, organization_id).filter(community_id=community_id).exists()


def liaison_tie_q(user: Any, *, organization: str, community: str) -> Q:
    """Rows naming a unit (`organization`) in a community (`community`) that the liaison's own tie
    joins. A liaison of several units reaches each unit's rows only where their tie for that unit
    is: the pair decides, never the unit or the community alone."""
    if not (_signed_in(user) and get_scope(user).organization_ids):
        return Q(pk__in=[])
    tie = liaison_ties(user).filter(organization_id=OuterRef(organization), community_id=OuterRef(community))
    return Q(Exists(tie))


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
    A liaison without an approved tie of their own has no members to read: refused like anyone
    without a role, rather than shown an empty list."""
    scope = get_scope(user)
    if not (scope.is_staff or liaison_community_ids(user)):
        raise DomainError("permission_denied", "需要社区工作人员或单位联络员权限")
