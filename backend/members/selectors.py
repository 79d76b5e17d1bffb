"""Reads: who sees which members, registrations and demands; post occupancy; points totals and rankings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Rank
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.scoping import get_scope, scope_q
from backend.accounts.selectors import plain, row, rows
from backend.core import crypto
from backend.core.moderation import visible_q, with_review
from backend.core.periods import parse_period

from .models import (
    Demand,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PointsRule,
    PostAssignment,
    PrivacyConsent,
    RegistrationStep,
    Resource,
    ServicePost,
    ServiceProject,
    UnitRegistration,
)
from .registry import report_lines

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
    return unit_community_ids(get_scope(user).organization_ids)


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


# Registrations --------------------------------------------------------------------------------


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
    scope = get_scope(user)
    visible = _registration_staff_q(user) | Q(filed_by=user)
    if scope.organization_ids:
        visible |= Q(organization_id__in=scope.organization_ids)
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
        visible |= Q(Exists(_liaison_registrations(scope.organization_ids).filter(member=OuterRef("pk"))))
    return PartyMember.objects.filter(visible)


def _liaison_registrations(organization_ids: Iterable[int]) -> QuerySet[MemberRegistration]:
    """Approved registrations naming one of these organisations with a community the organisation
    itself is registered (approved) with: the co-building tie is what lets its liaison read them."""
    tie = UnitRegistration.objects.filter(
        organization_id=OuterRef("organization_id"),
        community_id=OuterRef("community_id"),
        status=UnitRegistration.Status.APPROVED,
    )
    return MemberRegistration.objects.filter(status=APPROVED, organization_id__in=list(organization_ids)).filter(
        Exists(tie)
    )


def member_in_staff_scope(user: Any, member: PartyMember) -> bool:
    scope = get_scope(user)
    if not scope.is_staff:
        return False
    return PartyMember.objects.filter(_staff_member_q(user), pk=member.pk).exists()


def active_post_count_subquery() -> Subquery:
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


# Service posts --------------------------------------------------------------------------------


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


def post_holders(post: ServicePost) -> QuerySet[PostAssignment]:
    return (
        PostAssignment.objects.filter(post=post, left_at__isnull=True)
        .select_related("member", "member__user")
        .order_by("claimed_at", "id")
    )


def my_assignments(user: Any) -> QuerySet[PostAssignment]:
    return (
        PostAssignment.objects.filter(member__user=user, left_at__isnull=True)
        .select_related("post", "post__community")
        .order_by("id")
    )


# 三单 ------------------------------------------------------------------------------------------


def _staff_or_grid_q(user: Any) -> Q:
    return scope_q(user, community="community", street="community__street", grid="grid", include_grid_workers=True)


def demands_for(user: Any) -> QuerySet[Demand]:
    """Staff and grid workers see their places' demands; everyone their own and those they took;
    registered members and units the open ones of their communities, to claim them. Others see a
    demand only once its content check has passed (`content_review` is null)."""
    if not _signed_in(user):
        return Demand.objects.none()
    always = _staff_or_grid_q(user) | Q(requester=user)
    shared = Q(claimed_by=user)
    scope = get_scope(user)
    if scope.organization_ids:
        shared |= Q(claimed_organization_id__in=scope.organization_ids)
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


def demand_steps(demand: Demand) -> QuerySet:
    return demand.steps.select_related("actor", "assignee").prefetch_related("evidence").order_by("id")


def demands_due_for_auto_confirmation(*, now=None) -> QuerySet[Demand]:
    from datetime import timedelta

    now = now or timezone.now()
    cutoff = now - timedelta(days=int(settings.DEMAND_AUTO_CONFIRM_DAYS))
    return Demand.objects.filter(status=Demand.Status.DONE, done_at__lte=cutoff).order_by("id")


def resources_for(user: Any) -> QuerySet[Resource]:
    """Active resources are public to signed-in users (that is what the list is for) once their
    content check has passed; inactive or held ones only to whoever offered them and to staff in scope."""
    if not _signed_in(user):
        return Resource.objects.none()
    always = Q(offered_by=user) | scope_q(user, community="community", street="community__street")
    scope = get_scope(user)
    if scope.organization_ids:
        always |= Q(organization_id__in=scope.organization_ids)
    return (
        with_review(Resource.objects.all())
        .filter(always | (visible_q() & Q(is_active=True)))
        .select_related("community", "organization")
        .order_by("-id")
    )


def editable_resources(user: Any) -> QuerySet[Resource]:
    """Resources the user may change or withdraw: their own, their unit's, their communities'."""
    editable = Q(offered_by=user) | scope_q(user, community="community", street="community__street")
    scope = get_scope(user)
    if scope.organization_ids:
        editable |= Q(organization_id__in=scope.organization_ids)
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


# Points ---------------------------------------------------------------------------------------


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
    if organization.community_id:
        return organization.community.street_id
    return None


def editable_projects(user: Any) -> QuerySet[ServiceProject]:
    """Projects the user may change: those they own, and those of the communities in their staff scope."""
    return projects_for(user).filter(Q(owner=user) | scope_q(user, community="community", street="community__street"))


# Personal data (accounts.registry) ------------------------------------------------------------


def my_consents(user: Any) -> list[dict[str, Any]]:
    """The user's consents, newest first, each with when it was withdrawn (null: standing or superseded)."""
    return list(
        PrivacyConsent.objects.filter(user=user)
        .order_by("-given_at", "-id")
        .values("id", "purpose", "version", "given_at", withdrawn_at=F("withdrawal__withdrawn_at"))
    )


def personal_data(user: User) -> dict[str, Any]:
    """Everything members holds about `user`, unmasked (their own export): one query per section."""
    member = PartyMember.objects.select_related("organization").filter(user=user).first()
    party_member = row(
        member,
        ("id", "organization_id", "status", "joined_on", "employer", "real_name", "phone", "id_number_masked"),
    )
    if member is not None and party_member is not None:
        party_member["organization_name"] = member.organization.name if member.organization else None
        party_member["id_number"] = crypto.decrypt(member.id_number_encrypted) if member.id_number_encrypted else None
        party_member["consent_id"] = member.consent_id
        party_member["created_at"] = plain(member.created_at)
    return {
        "party_member": party_member,
        "member_registrations": rows(
            MemberRegistration.objects.filter(member__user=user).order_by("id"),
            "id",
            "community_id",
            "community__name",
            "grid_id",
            "grid__name",
            "organization_id",
            "organization__name",
            "real_name",
            "phone",
            "address",
            "note",
            "status",
            "reason",
            "consent_id",
            "submitted_at",
            "decided_at",
            "approved_at",
            "withdrawn_at",
        ),
        "unit_registrations": rows(
            UnitRegistration.objects.filter(filed_by=user).order_by("id"),
            "id",
            "organization_id",
            "organization__name",
            "community_id",
            "community__name",
            "agreement_date",
            "contact_name",
            "contact_phone",
            "resources",
            "status",
            "reason",
            "submitted_at",
            "decided_at",
            "approved_at",
            "withdrawn_at",
        ),
        "consents": [plain(consent) for consent in my_consents(user)],
        "posts": rows(
            PostAssignment.objects.filter(member__user=user).order_by("id"),
            "id",
            "post_id",
            "post__name",
            "post__community__name",
            "claimed_at",
            "left_at",
        ),
        "points": rows(
            PointsEntry.objects.filter(user=user).order_by("id"),
            "id",
            "kind",
            "rule_code",
            "source",
            "points",
            "requested_points",
            "year",
            "reason",
            "created_at",
        ),
        "demands": rows(
            Demand.objects.filter(requester=user).order_by("id"),
            "id",
            "kind",
            "community_id",
            "community__name",
            "title",
            "description",
            "contact_name",
            "contact_phone",
            "status",
            "created_at",
            "claimed_at",
            "done_at",
            "confirmed_at",
            "cancelled_at",
        ),
        "resources": rows(
            Resource.objects.filter(offered_by=user).order_by("id"),
            "id",
            "community_id",
            "community__name",
            "title",
            "category",
            "description",
            "is_active",
            "created_at",
        ),
    }
