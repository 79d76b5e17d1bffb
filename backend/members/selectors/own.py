"""`members/me`: the caller's own member record, registrations, posts, unit filings and points.

Every opening of the mini-program asks for it, so it is read by four statements written once
(`Statement`), each row taken as a tuple: the person with their organisation and both points
totals; their registrations with each one's steps; every post they have held; the unit
registrations they filed. The year's 双报告 line is computed from these same rows by whoever
provides it (registry `report_lines`), which reads nothing of them again.

The former reading through the ORM (the member with member_list's annotations, the scoped
registrations and unit filings, the current posts, the two points sums: tests/members/me_reference.py)
is the reference: tests/members/test_me_page.py holds the two to the same answer over rows that
fill every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from django.db.models import Field

from backend.accounts.models import User

from ..models import MemberRegistration, PartyMember, PostAssignment, RegistrationStep, ServicePost, UnitRegistration
from ._statements import Statement
from .members import NOT_REGISTERED
from .membership import current_year


class OwnMember(NamedTuple):
    id: int
    user_id: int
    organization_id: int | None
    organization_name: str | None
    organization_parent_id: int | None
    status: str
    joined_on: date | None
    employer: str
    real_name: str
    phone: str
    id_number_masked: str


class OwnStep(NamedTuple):
    from_status: str
    to_status: str
    actor_id: int | None
    reason: str
    at: datetime


class OwnRegistration(NamedTuple):
    id: int
    community_id: int
    community_name: str
    grid_id: int | None
    grid_name: str | None
    organization_id: int
    organization_name: str
    real_name: str
    phone: str
    address: str
    note: str
    status: str
    reason: str
    consent_version: str
    submitted_at: datetime
    decided_at: datetime | None
    approved_at: datetime | None
    withdrawn_at: datetime | None
    steps: tuple[OwnStep, ...]


class OwnAssignment(NamedTuple):
    id: int
    post_id: int
    post_name: str
    community_id: int
    post_is_active: bool
    claimed_at: datetime
    left_at: datetime | None


class OwnUnitRegistration(NamedTuple):
    id: int
    organization_id: int
    organization_name: str
    community_id: int
    community_name: str
    agreement_date: date | None
    contact_name: str
    contact_phone: str
    resources: str
    status: str
    reason: str
    filed_by_id: int
    submitted_at: datetime
    decided_at: datetime | None
    approved_at: datetime | None
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class OwnPerson:
    """A party member as `members/me` reads them: what the page shows of them and what their 双报告
    line is computed from (registry `report_lines`)."""

    member: OwnMember
    registrations: tuple[OwnRegistration, ...]  # newest first
    assignments: tuple[OwnAssignment, ...]  # every post held, by id, those left included

    @property
    def active_registrations(self) -> list[OwnRegistration]:
        """member_list's `active_registrations`: the pending or approved ones, newest first."""
        return [r for r in self.registrations if r.status in MemberRegistration.ACTIVE_STATUSES]

    @property
    def registration_status(self) -> str:
        """报到状态 as member_list annotates it: the standing registration's status, else none."""
        active = self.active_registrations
        return active[0].status if active else NOT_REGISTERED

    @property
    def posts(self) -> list[OwnAssignment]:
        """The posts held now, by id."""
        return [a for a in self.assignments if a.left_at is None]

    @property
    def post_count(self) -> int:
        """member_list's active post count: posts held now that are still in use."""
        return sum(1 for a in self.posts if a.post_is_active)


@dataclass(frozen=True)
class OwnPage:
    person: OwnPerson | None  # None: the caller is no party member
    unit_registrations: tuple[OwnUnitRegistration, ...]  # those they filed, newest first
    year: int
    year_total: int  # points of `year` (the ledger's year), also the member's `points_year`
    total: int  # points of all time
    # Whether the account may act; None: there is no such account (and nothing else was read). The
    # view authenticates the token without reading the account first (AccountInStatement).
    account_active: bool | None = True


def _field(model: Any, name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is no column")
    return field


def _plain(n: int) -> list[Field[Any, Any] | None]:
    """n columns taken as the driver gives them (ids, texts, sums of integers)."""
    return [None] * n


_PERSON = Statement(
    """
    SELECT m.id, m.organization_id, o.name, o.parent_id, m.status, m.joined_on, m.employer, m.real_name,
           m.phone, m.id_number_masked,
           (SELECT SUM(p.points) FROM members_pointsentry p WHERE p.user_id = u.id AND p.year = %s),
           (SELECT SUM(p.points) FROM members_pointsentry p WHERE p.user_id = u.id), u.is_active
    FROM accounts_user u
    LEFT JOIN members_partymember m ON m.user_id = u.id
    LEFT JOIN communities_partyorganization o ON o.id = m.organization_id
    WHERE u.id = %s
    """,
    [*_plain(5), _field(PartyMember, "joined_on"), *_plain(6), _field(User, "is_active")],
)

_REGISTRATION_TIMES = [
    _field(MemberRegistration, name) for name in ("submitted_at", "decided_at", "approved_at", "withdrawn_at")
]
# The names by scalar subqueries rather than joins: PostgreSQL planned the six-table join in about
# 0.5 ms, more than it took to run, and this in about 0.15.
_REGISTRATIONS = Statement(
    """
    SELECT r.id, r.community_id, (SELECT c.name FROM communities_community c WHERE c.id = r.community_id),
           r.grid_id, (SELECT g.name FROM communities_grid g WHERE g.id = r.grid_id),
           r.organization_id, (SELECT o.name FROM communities_partyorganization o WHERE o.id = r.organization_id),
           r.real_name, r.phone, r.address, r.note, r.status, r.reason,
           (SELECT consent.version FROM members_privacyconsent consent WHERE consent.id = r.consent_id),
           r.submitted_at, r.decided_at, r.approved_at, r.withdrawn_at,
           s.from_status, s.to_status, s.actor_id, s.reason, s.at
    FROM members_memberregistration r
    LEFT JOIN members_registrationstep s ON s.registration_id = r.id
    WHERE r.member_id = %s
    ORDER BY r.id DESC, s.id
    """,
    [*_plain(14), *_REGISTRATION_TIMES, *_plain(4), _field(RegistrationStep, "at")],
)

_ASSIGNMENT_TIMES = [_field(PostAssignment, name) for name in ("claimed_at", "left_at")]
_ASSIGNMENTS = Statement(
    """
    SELECT a.id, a.post_id, p.name, p.community_id, p.is_active, a.claimed_at, a.left_at
    FROM members_postassignment a
    JOIN members_servicepost p ON p.id = a.post_id
    WHERE a.member_id = %s
    ORDER BY a.id
    """,
    [*_plain(4), _field(ServicePost, "is_active"), *_ASSIGNMENT_TIMES],
)

_UNIT_TIMES = [_field(UnitRegistration, name) for name in ("submitted_at", "decided_at", "approved_at", "withdrawn_at")]
_UNIT_REGISTRATIONS = Statement(
    """
    SELECT u.id, u.organization_id, (SELECT o.name FROM communities_partyorganization o WHERE o.id = u.organization_id),
           u.community_id, (SELECT c.name FROM communities_community c WHERE c.id = u.community_id),
           u.agreement_date, u.contact_name, u.contact_phone, u.resources, u.status, u.reason, u.filed_by_id,
           u.submitted_at, u.decided_at, u.approved_at, u.withdrawn_at
    FROM members_unitregistration u
    WHERE u.filed_by_id = %s
    ORDER BY u.id DESC
    """,
    [*_plain(5), _field(UnitRegistration, "agreement_date"), *_plain(6), *_UNIT_TIMES],
)


def _registrations(member_id: int) -> tuple[OwnRegistration, ...]:
    """The member's registrations, each with its steps: one row per step (one for a registration
    without any), newest registration first, its steps oldest first."""
    registrations: list[OwnRegistration] = []
    steps: dict[int, list[OwnStep]] = {}
    for row in _REGISTRATIONS.rows([member_id]):
        registration_id = row[0]
        if registration_id not in steps:
            steps[registration_id] = []
            registrations.append(OwnRegistration._make([*row[:18], ()]))
        if row[19] is not None:  # to_status: never empty on a step
            steps[registration_id].append(OwnStep(*row[18:]))
    return tuple(r._replace(steps=tuple(steps[r.id])) for r in registrations)


def own_page(user: Any) -> OwnPage:
    """Everything `members/me` shows of the signed-in caller but the 双报告 line: four statements
    for a party member, two for anyone else, one when the account is gone. The first reads the
    account's state (`account_active`) for the view to refuse a gone or inactive one."""
    year = current_year()
    found = _PERSON.rows([year, user.pk])
    if not found:
        return OwnPage(person=None, unit_registrations=(), year=year, year_total=0, total=0, account_active=None)
    *member, year_total, total, account_active = found[0]
    person = None
    if member[0] is not None:
        own = OwnMember(member[0], user.pk, *member[1:])
        person = OwnPerson(
            member=own,
            registrations=_registrations(own.id),
            assignments=tuple(OwnAssignment(*r) for r in _ASSIGNMENTS.rows([own.id])),
        )
    return OwnPage(
        person=person,
        unit_registrations=tuple(OwnUnitRegistration(*r) for r in _UNIT_REGISTRATIONS.rows([user.pk])),
        year=year,
        year_total=int(year_total or 0),
        total=int(total or 0),
        account_active=bool(account_active),
    )
