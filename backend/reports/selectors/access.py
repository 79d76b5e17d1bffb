"""Who reads which 双报告 (whole, or the lines of their communities), whom it is sent to, and the reports kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from backend.accounts.models import Role, RoleGrant
from backend.accounts.scoping import get_scope, staff_organizations
from backend.communities.models import PartyOrganization
from backend.members.models import (
    MemberRegistration,
    PartyMember,
    UnitRegistration,
)
from backend.members.selectors import liaison_community_ids

from ..models import FeedbackReport


@dataclass(frozen=True)
class ReportAccess:
    """What of a unit's report a caller may read: all of it, or only the lines of members
    registered with the communities in `community_ids` (community staff)."""

    full: bool
    community_ids: frozenset[int] = frozenset()


def may_read_reports(user: Any) -> bool:
    """Staff and liaisons ask; which unit's report they then read is `report_access`'s to say."""
    scope = get_scope(user)
    return scope.is_staff or bool(scope.organization_ids)


def report_access(user: Any, organization: PartyOrganization) -> ReportAccess | None:
    """None when the organisation lies outside the caller's reach (the view answers 404).

    Staff whose streets or communities the organisation belongs to read it whole. A liaison of
    the unit reads the lines of the members registered with the communities of their own ties,
    as staff of a community the unit or some of its members registered with read the lines of
    the members registered there: the liaison of another tie of the same unit sees only theirs.
    """
    scope = get_scope(user)
    if scope.is_superuser:
        return ReportAccess(full=True)
    if scope.is_staff and staff_organizations(user).filter(pk=organization.pk).exists():
        return ReportAccess(full=True)
    reach = liaison_community_ids(user, organization.pk)
    communities = scope.community_ids
    related = scope.is_staff and (
        UnitRegistration.objects.filter(
            organization=organization, community_id__in=communities, approved_at__isnull=False
        ).exists()
        or MemberRegistration.objects.filter(
            organization=organization, community_id__in=communities, approved_at__isnull=False
        ).exists()
    )
    if related:
        reach |= communities
    return ReportAccess(full=False, community_ids=frozenset(reach)) if reach else None


def restrict_report(data: dict[str, Any], access: ReportAccess) -> dict[str, Any]:
    """The report as this caller may read it: the whole, or the sheets of their communities."""
    if access.full:
        return data
    visible = [group for group in data["communities"] if group["id"] in access.community_ids]
    member_ids = {line["member_id"] for group in visible for line in group["members"]}
    summary = dict(data["summary"])
    summary["below_target"] = [row for row in summary["below_target"] if row["member_id"] in member_ids]
    summary["without_post"] = [row for row in summary["without_post"] if row["member_id"] in member_ids]
    return {**data, "summary": summary, "communities": visible}


def report_member_user_ids(data: dict[str, Any]) -> list[tuple[int, int]]:
    """(user id, member id) of every line in a report: whose details a reader saw."""
    return [(line["user_id"], line["member_id"]) for group in data["communities"] for line in group["members"]]


def liaison_user_ids(organization_id: int) -> list[int]:
    """The unit's liaisons: whom its 双报告 is sent to. Those whose grant stands and who filed an
    approved tie of the unit; a grant alone reaches none of its members."""
    return sorted(
        set(
            RoleGrant.objects.filter(
                role=Role.UNIT_LIAISON,
                organization_id=organization_id,
                revoked_at__isnull=True,
                user__is_active=True,
            )
            .filter(
                Exists(
                    UnitRegistration.objects.filter(
                        organization_id=organization_id,
                        filed_by_id=OuterRef("user_id"),
                        status=UnitRegistration.Status.APPROVED,
                    )
                )
            )
            .values_list("user_id", flat=True)
        )
    )


def reportable_organizations() -> QuerySet[PartyOrganization]:
    """Units a quarterly 双报告 is written for: those with members or a registration with a community."""
    return (
        PartyOrganization.objects.filter(is_unit=True)
        .filter(
            Exists(PartyMember.objects.filter(organization=OuterRef("pk")))
            | Exists(UnitRegistration.objects.filter(organization=OuterRef("pk"), approved_at__isnull=False))
        )
        .order_by("id")
    )


def organizations_needing_report(period_label: str) -> QuerySet[PartyOrganization]:
    """Units whose report for the period is not yet written, or written but not yet sent."""
    done = FeedbackReport.objects.filter(organization=OuterRef("pk"), period=period_label, sent_at__isnull=False)
    return reportable_organizations().exclude(Exists(done))


def stored_reports(organization: PartyOrganization) -> QuerySet[FeedbackReport]:
    return (
        FeedbackReport.objects.filter(organization=organization)
        .select_related("organization")
        .order_by("-period_start", "-id")
    )


@dataclass(frozen=True)
class SentRef:
    """The report kept for a unit's period, as the live report points at it."""

    id: int
    generated_at: datetime
    sent_at: datetime | None
    file_url: str | None  # the workbook as sent; only to whole-report readers


def sent_ref(organization: PartyOrganization, period_label: str, access: ReportAccess) -> SentRef | None:
    kept = FeedbackReport.objects.filter(organization=organization, period=period_label).first()
    if kept is None:
        return None
    file_url = kept.xlsx.url if access.full and kept.xlsx else None
    return SentRef(id=int(kept.pk), generated_at=kept.generated_at, sent_at=kept.sent_at, file_url=file_url)
