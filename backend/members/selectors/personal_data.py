"""A person's own data (accounts.registry): their consents and everything members holds on them."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    F,
)

from backend.accounts.models import User
from backend.accounts.selectors import plain, row, rows
from backend.core import crypto

from ..models import (
    Demand,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PostAssignment,
    PrivacyConsent,
    Resource,
    UnitRegistration,
)


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
