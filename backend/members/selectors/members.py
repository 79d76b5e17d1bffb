"""Registrations and members as the caller's scope shows them, with their list annotations."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from backend.accounts.scoping import get_scope, scope_q

from ..models import MemberRegistration, PartyMember, PointsEntry, PostAssignment, RegistrationStep, UnitRegistration
from .membership import APPROVED, _signed_in, current_year, liaison_tie_q


def _registration_staff_q(user: Any) -> Q:
    return scope_q(user, community="community", street="community__street")


def registrations_for(user: Any) -> QuerySet[MemberRegistration]:
    """A member's own registrations, and those of the communities in a staff member's scope."""
    if not _signed_in(user):
        return MemberRegistration.objects.none()
    return (
        MemberRegistration.objects.filter(_registration_staff_q(user) | Q(member__user=user))
        .select_related("member", "member__user", "community", "grid", "organization", "decided_by")
        .prefetch_related(Prefetch("steps", queryset=RegistrationStep.objects.order_by("id")))
        .order_by("-id")
    )


def unit_registrations_for(user: Any) -> QuerySet[UnitRegistration]:
    if not _signed_in(user):
        return UnitRegistration.objects.none()
    # A liaison sees their own filings, and the unit's filings with the communities their own ties
    # join; another liaison's tie of the same unit with another community is not theirs to see.
    visible = (
        _registration_staff_q(user)
        | Q(filed_by=user)
        | liaison_tie_q(user, organization="organization_id", community="community_id")
    )
    return (
        UnitRegistration.objects.filter(visible)
        .select_related("organization", "community", "filed_by", "decided_by")
        .order_by("-id")
    )


# Members --------------------------------------------------------------------------------------


def _staff_member_q(user: Any) -> Q:
    """Members a staff member's scope covers: registered with their communities, or belonging to
    an organisation of their communities or streets."""
    registered_here = MemberRegistration.objects.filter(member=OuterRef("pk"), status=APPROVED).filter(
        _registration_staff_q(user)
    )
    return Q(Exists(registered_here)) | scope_q(
        user, community="organization__community", street="organization__street"
    )


def members_for(user: Any) -> QuerySet[PartyMember]:
    """Members whose details the user may read: staff in scope, liaisons their organisation's, and oneself."""
    if not _signed_in(user):
        return PartyMember.objects.none()
    scope = get_scope(user)
    visible = Q(user=user)
    if scope.is_superuser or scope.is_staff:
        visible |= _staff_member_q(user)
    if scope.organization_ids:
        visible |= Q(Exists(_liaison_registrations(user).filter(member=OuterRef("pk"))))
    return PartyMember.objects.filter(visible)


def _liaison_registrations(user: Any) -> QuerySet[MemberRegistration]:
    """Approved registrations naming one of the liaison's units with a community that their own tie
    for that unit joins: the co-building tie lets the liaison who filed it read them."""
    return MemberRegistration.objects.filter(status=APPROVED).filter(
        liaison_tie_q(user, organization="organization_id", community="community_id")
    )


def member_in_staff_scope(user: Any, member: PartyMember) -> bool:
    scope = get_scope(user)
    if not scope.is_staff:
        return False
    return PartyMember.objects.filter(_staff_member_q(user), pk=member.pk).exists()


def active_post_count_subquery() -> Coalesce:
    counts = (
        PostAssignment.objects.filter(member=OuterRef("pk"), left_at__isnull=True, post__is_active=True)
        .order_by()
        .values("member")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def year_points_subquery(year: int, user_path: str = "user_id") -> Coalesce:
    totals = (
        PointsEntry.objects.filter(user_id=OuterRef(user_path), year=year)
        .order_by()
        .values("user_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))


NOT_REGISTERED = "none"


def registration_status_annotation() -> Coalesce:
    """报到状态 of each member: their standing (pending or approved) registration's status, else "none"."""
    standing = (
        MemberRegistration.objects.filter(member=OuterRef("pk"), status__in=MemberRegistration.ACTIVE_STATUSES)
        .order_by("-id")
        .values("status")[:1]
    )
    return Coalesce(Subquery(standing), Value(NOT_REGISTERED))


def member_list(user: Any, *, year: int | None = None) -> QuerySet[PartyMember]:
    """The members list: each with their current registration and its state, active posts and this
    year's points. Staff and liaisons find only approved members here (applicants are under
    registrations); a person reading their own record sees it in whatever state it is."""
    active_registrations = Prefetch(
        "registrations",
        queryset=MemberRegistration.objects.filter(status__in=MemberRegistration.ACTIVE_STATUSES).select_related(
            "community", "grid"
        ),
        to_attr="active_registrations",
    )
    return (
        members_for(user)
        .select_related("user", "organization")
        .prefetch_related(active_registrations)
        .annotate(
            post_count=active_post_count_subquery(),
            points_year=year_points_subquery(year or current_year()),
            registration_status=registration_status_annotation(),
        )
        .order_by("id")
    )
