"""`members/me`: the caller's own member record, registrations, posts, unit filings and points.

Every opening of the mini-program asks for it, so it is read by one statement written once
(`Statement`, `_OWN`), each row taken as a list: the person with their organisation and both
points totals; their registrations with each one's steps; every post they have held; the unit
registrations they filed (four arms of a UNION ALL). The year's 双报告 line is computed from these same rows by whoever
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

from ..models import MemberRegistration, PartyMember, RegistrationStep
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


# One statement for the page, its four parts (the person, their registrations with their steps,
# the posts they held, the unit registrations they filed) as arms of a UNION ALL: three round
# trips fewer than a statement each (docs/benchmarks.md, "Ninth pass"). The arms share one row
# layout of typed slots, each arm filling its own and leaving the rest NULL:
#   kind, two sort keys, 5 integers, 13 texts, 1 date, 5 timestamps, 1 boolean.
PERSON, REGISTRATION, ASSIGNMENT, UNIT = range(4)
_INTS, _TEXTS, _TIMES = 5, 13, 5
_I, _T, _D, _S, _B = 3, 3 + _INTS, 3 + _INTS + _TEXTS, 4 + _INTS + _TEXTS, 4 + _INTS + _TEXTS + _TIMES


def _arm(
    kind: int,
    order: tuple[str, str],
    *,
    ints: list[str],
    texts: list[str],
    day: str,
    times: list[str],
    flag: str,
    source: str,
) -> str:
    def filled(values: list[str], size: int, sql_type: str) -> list[str]:
        return values + [f"CAST(NULL AS {sql_type})"] * (size - len(values))

    columns = [
        str(kind),
        *order,
        *filled(ints, _INTS, "BIGINT"),
        *filled(texts, _TEXTS, "TEXT"),
        day or "CAST(NULL AS DATE)",
        *filled(times, _TIMES, "TIMESTAMP WITH TIME ZONE"),
        flag or "CAST(NULL AS BOOLEAN)",
    ]
    return "SELECT " + ", ".join(columns) + " " + source


# The names by scalar subqueries rather than joins: PostgreSQL planned the six-table join in about
# 0.5 ms, more than it took to run, and this in about 0.15.
_MEMBER_OF_CALLER = "(SELECT pm.id FROM members_partymember pm WHERE pm.user_id = %s)"
_ARMS = [
    _arm(
        PERSON,
        ("0", "0"),
        ints=[
            "m.id",
            "m.organization_id",
            "o.parent_id",
            "(SELECT SUM(p.points) FROM members_pointsentry p WHERE p.user_id = u.id AND p.year = %s)",
            "(SELECT SUM(p.points) FROM members_pointsentry p WHERE p.user_id = u.id)",
        ],
        texts=["o.name", "m.status", "m.employer", "m.real_name", "m.phone", "m.id_number_masked"],
        day="m.joined_on",
        times=[],
        flag="u.is_active",
        source="FROM accounts_user u LEFT JOIN members_partymember m ON m.user_id = u.id"
        " LEFT JOIN communities_partyorganization o ON o.id = m.organization_id WHERE u.id = %s",
    ),
    _arm(
        REGISTRATION,
        ("-r.id", "s.id"),
        ints=["r.id", "r.community_id", "r.grid_id", "r.organization_id", "s.actor_id"],
        texts=[
            "(SELECT c.name FROM communities_community c WHERE c.id = r.community_id)",
            "(SELECT g.name FROM communities_grid g WHERE g.id = r.grid_id)",
            "(SELECT o.name FROM communities_partyorganization o WHERE o.id = r.organization_id)",
            "r.real_name",
            "r.phone",
            "r.address",
            "r.note",
            "r.status",
            "r.reason",
            "(SELECT consent.version FROM members_privacyconsent consent WHERE consent.id = r.consent_id)",
            "s.from_status",
            "s.to_status",
            "s.reason",
        ],
        day="",
        times=["r.submitted_at", "r.decided_at", "r.approved_at", "r.withdrawn_at", "s.at"],
        flag="",
        source="FROM members_memberregistration r LEFT JOIN members_registrationstep s ON s.registration_id = r.id"
        f" WHERE r.member_id = {_MEMBER_OF_CALLER}",
    ),
    _arm(
        ASSIGNMENT,
        ("a.id", "0"),
        ints=["a.id", "a.post_id", "p.community_id"],
        texts=["p.name"],
        day="",
        times=["a.claimed_at", "a.left_at"],
        flag="p.is_active",
        source="FROM members_postassignment a JOIN members_servicepost p ON p.id = a.post_id"
        f" WHERE a.member_id = {_MEMBER_OF_CALLER}",
    ),
    _arm(
        UNIT,
        ("-u.id", "0"),
        ints=["u.id", "u.organization_id", "u.community_id", "u.filed_by_id"],
        texts=[
            "(SELECT o.name FROM communities_partyorganization o WHERE o.id = u.organization_id)",
            "(SELECT c.name FROM communities_community c WHERE c.id = u.community_id)",
            "u.contact_name",
            "u.contact_phone",
            "u.resources",
            "u.status",
            "u.reason",
        ],
        day="u.agreement_date",
        times=["u.submitted_at", "u.decided_at", "u.approved_at", "u.withdrawn_at"],
        flag="",
        source="FROM members_unitregistration u WHERE u.filed_by_id = %s",
    ),
]
_OWN = Statement(
    " UNION ALL ".join(_ARMS) + " ORDER BY 1, 2, 3",
    [
        *_plain(_T),
        *_plain(_TEXTS),
        _field(PartyMember, "joined_on"),
        *[_field(MemberRegistration, name) for name in ("submitted_at", "decided_at", "approved_at", "withdrawn_at")],
        _field(RegistrationStep, "at"),
        _field(User, "is_active"),
    ],
)


def _person(row: list[Any], user_id: int) -> OwnMember | None:
    i, t = row[_I : _I + _INTS], row[_T : _T + _TEXTS]
    if i[0] is None:
        return None
    return OwnMember(i[0], user_id, i[1], t[0], i[2], t[1], row[_D], t[2], t[3], t[4], t[5])


def _registrations(rows: list[list[Any]]) -> tuple[OwnRegistration, ...]:
    """The member's registrations, each with its steps: one row per step (one for a registration
    without any), newest registration first, its steps oldest first."""
    registrations: list[OwnRegistration] = []
    steps: dict[int, list[OwnStep]] = {}
    for row in rows:
        i, t, times = row[_I : _I + _INTS], row[_T : _T + _TEXTS], row[_S : _S + _TIMES]
        if i[0] not in steps:
            steps[i[0]] = []
            registrations.append(
                OwnRegistration(
                    id=i[0],
                    community_id=i[1],
                    community_name=t[0],
                    grid_id=i[2],
                    grid_name=t[1],
                    organization_id=i[3],
                    organization_name=t[2],
                    real_name=t[3],
                    phone=t[4],
                    address=t[5],
                    note=t[6],
                    status=t[7],
                    reason=t[8],
                    consent_version=t[9],
                    submitted_at=times[0],
                    decided_at=times[1],
                    approved_at=times[2],
                    withdrawn_at=times[3],
                    steps=(),
                )
            )
        if t[11] is not None:  # to_status: never empty on a step
            steps[i[0]].append(OwnStep(t[10], t[11], i[4], t[12], times[4]))
    return tuple(r._replace(steps=tuple(steps[r.id])) for r in registrations)


def _assignment(row: list[Any]) -> OwnAssignment:
    i = row[_I : _I + _INTS]
    return OwnAssignment(i[0], i[1], row[_T], i[2], bool(row[_B]), row[_S], row[_S + 1])


def _unit(row: list[Any]) -> OwnUnitRegistration:
    i, t, times = row[_I : _I + _INTS], row[_T : _T + _TEXTS], row[_S : _S + _TIMES]
    return OwnUnitRegistration(
        id=i[0],
        organization_id=i[1],
        organization_name=t[0],
        community_id=i[2],
        community_name=t[1],
        agreement_date=row[_D],
        contact_name=t[2],
        contact_phone=t[3],
        resources=t[4],
        status=t[5],
        reason=t[6],
        filed_by_id=i[3],
        submitted_at=times[0],
        decided_at=times[1],
        approved_at=times[2],
        withdrawn_at=times[3],
    )


def own_page(user: Any) -> OwnPage:
    """Everything `members/me` shows of the signed-in caller but the 双报告 line, in one statement
    (`_OWN`). Its person row reads the account's state (`account_active`) for the view to refuse a
    gone or inactive one; no row: the account is gone."""
    year = current_year()
    parts: dict[int, list[list[Any]]] = {PERSON: [], REGISTRATION: [], ASSIGNMENT: [], UNIT: []}
    for row in _OWN.rows([year, user.pk, user.pk, user.pk, user.pk]):
        parts[row[0]].append(row)
    if not parts[PERSON]:
        return OwnPage(person=None, unit_registrations=(), year=year, year_total=0, total=0, account_active=None)
    found = parts[PERSON][0]
    own = _person(found, user.pk)
    person = None
    if own is not None:
        person = OwnPerson(
            member=own,
            registrations=_registrations(parts[REGISTRATION]),
            assignments=tuple(_assignment(row) for row in parts[ASSIGNMENT]),
        )
    return OwnPage(
        person=person,
        unit_registrations=tuple(_unit(row) for row in parts[UNIT]),
        year=year,
        year_total=int(found[_I + 3] or 0),
        total=int(found[_I + 4] or 0),
        account_active=bool(found[_B]),
    )
