"""五个全覆盖 per community and street: each rate a numerator over a denominator, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from backend.appeals.selectors import Ratio
from backend.communities.models import Community, Street
from backend.members.models import (
    MemberRegistration,
    PartyMember,
    UnitRegistration,
)
from backend.red_property import selectors as red_property

from .common import (
    APPROVED,
    MEMBERS_UNKNOWN,
    UNIT_APPROVED,
    UNITS_UNKNOWN,
    _add,
    _counts,
    membership_ratio_data,
    ratio_data,
)

# 五个全覆盖 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """The five rates of one community (or the sums of several): each a numerator over a denominator."""

    party_organization: Ratio  # (1) estates with a party organisation / estates
    property_company_party_organization: Ratio  # (1) companies serving here with one / companies serving here
    owners_committee: Ratio  # (2) estates with a 业委会 in office / estates that require one
    property_service: Ratio  # (3) estates with property service / estates
    member_registration: Ratio  # (4) members registered here / members known to live here
    unit_registration: Ratio  # (4) units registered here / units co-building here
    red_property: Ratio  # (5) red property estates with property service / estates with property service
    registered_members: int  # members registered (approved) here, wherever they live

    @classmethod
    def empty(cls) -> Coverage:
        zero = Ratio(0, 0)
        return cls(zero, zero, zero, zero, zero, zero, zero, 0)

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(
            party_organization=_add(self.party_organization, other.party_organization),
            property_company_party_organization=_add(
                self.property_company_party_organization, other.property_company_party_organization
            ),
            owners_committee=_add(self.owners_committee, other.owners_committee),
            property_service=_add(self.property_service, other.property_service),
            member_registration=_add(self.member_registration, other.member_registration),
            unit_registration=_add(self.unit_registration, other.unit_registration),
            red_property=_add(self.red_property, other.red_property),
            registered_members=self.registered_members + other.registered_members,
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "party_organization": ratio_data(self.party_organization),
            "property_company_party_organization": ratio_data(self.property_company_party_organization),
            "owners_committee": ratio_data(self.owners_committee),
            "property_service": ratio_data(self.property_service),
            "member_registration": membership_ratio_data(self.member_registration, MEMBERS_UNKNOWN),
            "unit_registration": membership_ratio_data(self.unit_registration, UNITS_UNKNOWN),
            "red_property": ratio_data(self.red_property),
            "registered_members": self.registered_members,
        }


@dataclass(frozen=True)
class MemberRegistrationSets:
    """One community's 党员双报到, as member ids: `registered` is the numerator, `known` the denominator."""

    registered: frozenset[int]
    known: frozenset[int]

    def ratio(self) -> Ratio:
        return Ratio(len(self.registered), len(self.known))

    def __or__(self, other: MemberRegistrationSets) -> MemberRegistrationSets:
        return MemberRegistrationSets(self.registered | other.registered, self.known | other.known)


def member_registration_sets(community_ids: Iterable[int]) -> dict[int, MemberRegistrationSets]:
    """(4a) per community, in two queries:

    registered: members whose registration with the community is approved and has not ended;
    known: party members known to live there, i.e. those registered there, those whose registration
    with it awaits a decision, and members registered (approved) anywhere whose account names it
    as their home community (User.community). Refused and ended registrations count nowhere, and
    an applicant never in a numerator.
    """
    ids = list(community_ids)
    registered: dict[int, set[int]] = {cid: set() for cid in ids}
    known: dict[int, set[int]] = {cid: set() for cid in ids}
    standing = MemberRegistration.objects.filter(
        community_id__in=ids, status__in=MemberRegistration.ACTIVE_STATUSES
    ).values_list("community_id", "member_id", "status")
    for cid, member_id, status in standing:
        known[cid].add(member_id)
        if status == APPROVED:
            registered[cid].add(member_id)
    in_force = MemberRegistration.objects.filter(member=OuterRef("pk"), status=APPROVED)
    living = PartyMember.objects.filter(Exists(in_force), user__community_id__in=ids).values_list(
        "user__community_id", "id"
    )
    for cid, member_id in living:
        known[cid].add(member_id)
    return {cid: MemberRegistrationSets(frozenset(registered[cid]), frozenset(known[cid])) for cid in ids}


def unit_registration_counts(community_ids: Iterable[int]) -> dict[int, Ratio]:
    """(4b) per community: units registered (approved) / units co-building with it, a unit co-building
    from the moment it files (a pending or approved registration). One query."""
    rows = _counts(
        UnitRegistration.objects.filter(
            community_id__in=list(community_ids),
            status__in=UnitRegistration.ACTIVE_STATUSES,
            organization__is_unit=True,
        ),
        "community_id",
        co_building=Count("organization", distinct=True),
        registered=Count("organization", distinct=True, filter=Q(status=UNIT_APPROVED)),
    )
    return {cid: Ratio(row["registered"], row["co_building"]) for cid, row in rows.items()}


def red_property_served_counts(community_ids: Iterable[int]) -> dict[int, int]:
    """(5) numerator: red property estates that have property service. One query."""
    rows = _counts(
        red_property.red_property_estates(community_ids=community_ids).filter(has_property_service=True),
        "community_id",
        n=Count("id"),
    )
    return {cid: row["n"] for cid, row in rows.items()}


def coverage_by_community(community_ids: Iterable[int], *, on: date | None = None) -> dict[int, Coverage]:
    """五个全覆盖 for each community asked for (zeros where there is nothing), in five queries."""
    ids = list(community_ids)
    if not ids:
        return {}
    estates = red_property.coverage_by_community(ids, on=on)
    red_served = red_property_served_counts(ids)
    members = member_registration_sets(ids)
    units = unit_registration_counts(ids)
    result: dict[int, Coverage] = {}
    for cid in ids:
        e = estates[cid]
        result[cid] = Coverage(
            party_organization=Ratio(e.with_party_organization, e.estates),
            property_company_party_organization=Ratio(
                e.property_companies_with_party_organization, e.property_companies
            ),
            owners_committee=Ratio(e.committee_formed, e.committee_required),
            property_service=Ratio(e.with_property_service, e.estates),
            member_registration=members[cid].ratio(),
            unit_registration=units.get(cid, Ratio(0, 0)),
            red_property=Ratio(red_served.get(cid, 0), e.with_property_service),
            registered_members=len(members[cid].registered),
        )
    return result


@dataclass(frozen=True)
class CommunityCoverage:
    community: Community
    coverage: Coverage


@dataclass(frozen=True)
class StreetCoverage:
    street: Street
    total: Coverage
    communities: list[CommunityCoverage]


def community_coverage(community: Community, *, on: date | None = None) -> CommunityCoverage:
    return CommunityCoverage(community, coverage_by_community([community.pk], on=on)[community.pk])


def street_coverage(street: Street, *, on: date | None = None) -> StreetCoverage:
    """Each community of the street, and the street's total.

    The total sums the communities' numerators and denominators (a unit co-building with two
    communities counts in each), except the property companies, which are counted once each
    across the street however many of its communities they serve, and the members, each counted
    once (registered in one community, living in another of the street).
    """
    communities = list(Community.objects.filter(street=street).order_by("id"))
    ids = [c.pk for c in communities]
    by_id = coverage_by_community(ids, on=on)
    rows = [CommunityCoverage(c, by_id[c.pk]) for c in communities]
    total = Coverage.empty()
    for row in rows:
        total = total + row.coverage
    companies = red_property.property_companies_serving(community_ids=ids)
    company_counts = companies.aggregate(
        serving=Count("id", distinct=True),
        with_party=Count("id", distinct=True, filter=Q(party_organization__isnull=False)),
    )
    members = MemberRegistrationSets(frozenset(), frozenset())
    for sets in member_registration_sets(ids).values():
        members = members | sets
    total = replace(
        total,
        property_company_party_organization=Ratio(company_counts["with_party"], company_counts["serving"]),
        member_registration=members.ratio(),
        registered_members=len(members.registered),
    )
    return StreetCoverage(street, total, rows)


def community_coverage_data(row: CommunityCoverage, *, on: date) -> dict[str, Any]:
    community = row.community
    return {
        "community": {"id": community.pk, "name": community.name, "street": community.street_id},
        "on": on.isoformat(),
        **row.coverage.as_data(),
    }


def street_coverage_data(street_cov: StreetCoverage, *, on: date) -> dict[str, Any]:
    return {
        "street": {"id": street_cov.street.pk, "name": street_cov.street.name},
        "on": on.isoformat(),
        "total": street_cov.total.as_data(),
        "communities": [
            {"community": {"id": r.community.pk, "name": r.community.name}, **r.coverage.as_data()}
            for r in street_cov.communities
        ],
    }
