"""The points ledger: totals, the rules in force, the ranking."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet, Sum, Window
from django.db.models.functions import Rank

from backend.accounts.scoping import can_act_on_community
from backend.communities.models import Community
from backend.core.errors import DomainError

from ..models import MemberRegistration, PartyMember, PointsEntry, PointsRule
from .members import year_points_subquery
from .membership import APPROVED, approved_member_in, registered_community_ids


def points_total(user: Any, *, year: int | None = None) -> int:
    entries = PointsEntry.objects.filter(user=user)
    if year is not None:
        entries = entries.filter(year=year)
    return int(entries.aggregate(total=Sum("points"))["total"] or 0)


def rule_points_in_year(*, user_id: int, rule_code: str, year: int) -> int:
    return int(
        PointsEntry.objects.filter(
            user_id=user_id, kind=PointsEntry.Kind.AWARD, rule_code=rule_code, year=year
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )


def points_ledger(user: Any, *, year: int | None = None) -> QuerySet[PointsEntry]:
    entries = PointsEntry.objects.filter(user=user).select_related("rule")
    if year is not None:
        entries = entries.filter(year=year)
    return entries.order_by("-id")


def rule_for(*, code: str, street_id: int | None) -> PointsRule | None:
    """The rule that applies: the street's own, else the global one. An inactive rule awards nothing
    (a street switches a global rule off for itself by adding an inactive rule of the same code)."""
    candidates = list(PointsRule.objects.filter(Q(street__isnull=True) | Q(street_id=street_id), code=code))
    chosen = next((r for r in candidates if street_id is not None and r.street_id == street_id), None)
    chosen = chosen or next((r for r in candidates if r.street_id is None), None)
    return chosen if chosen is not None and chosen.is_active else None


def rules_for_street(street_id: int | None) -> list[PointsRule]:
    rules: dict[str, PointsRule] = {}
    for rule in PointsRule.objects.filter(Q(street__isnull=True) | Q(street_id=street_id)).order_by("code"):
        if rule.code not in rules or rule.street_id is not None:
            rules[rule.code] = rule
    return [r for r in rules.values() if r.is_active]


def points_ranking(*, community_id: int, year: int) -> QuerySet[PartyMember]:
    """The community's registered members by points in `year`, highest first, with their rank."""
    total = year_points_subquery(year)
    return (
        PartyMember.objects.filter(registrations__community_id=community_id, registrations__status=APPROVED)
        .select_related("organization")
        .annotate(total=total)
        .annotate(rank=Window(Rank(), order_by=F("total").desc()))
        .order_by("-total", "id")
    )


def member_street_id(member: PartyMember) -> int | None:
    """The street whose rules apply to a member: where they are registered, else their organisation's."""
    registration = MemberRegistration.objects.filter(member=member, status=APPROVED).select_related("community").first()
    if registration is not None:
        return registration.community.street_id
    organization = member.organization
    if organization is None:
        return None
    if organization.street_id:
        return organization.street_id
    community = organization.community
    return community.street_id if community is not None else None


def ranking_community_id(user: Any, community_id: int | None) -> int:
    """The community whose ranking the caller asks for (default: the first they are registered in).
    Names in a members' ranking reveal party membership: only the community's own registered
    members and the staff whose scope covers it may see it."""
    if community_id is None:
        registered = sorted(registered_community_ids(user))
        if not registered:
            raise DomainError("validation_error", "输入有误", fields={"community": ["请指定社区"]})
        community_id = registered[0]
    if not (can_act_on_community(user, community_id) or approved_member_in(user, community_id)):
        raise DomainError("permission_denied", "只有本社区报到党员和工作人员可以查看积分排名")
    return community_id


def rules_for_user(user: Any) -> list[PointsRule]:
    """The rules in force where the caller is registered (the global ones if nowhere)."""
    community_ids = sorted(registered_community_ids(user))
    street_id = None
    if community_ids:
        street_id = Community.objects.filter(pk=community_ids[0]).values_list("street_id", flat=True).first()
    return rules_for_street(street_id)
