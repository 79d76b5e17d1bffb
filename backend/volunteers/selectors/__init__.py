"""Reads: who sees which records and certificates, totals and star levels, leaderboards, the check.

Leaderboards use competition ranking ("1224"): volunteers with equal hours share a rank and the
next rank skips as many places as shared it, so a rank always says how many did better (rank − 1).
A community's leaderboard ranks the hours served *for* it (records it organised and approved); a
street's, the hours served for any of its communities. A record counts in the period it started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Count, DecimalField, F, Model, OuterRef, Q, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, Rank

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, get_scope, scope_q
from backend.accounts.selectors import is_active_account, plain, row, rows
from backend.communities.models import Community
from backend.core import crypto
from backend.core.periods import Period
from backend.core.statements import cursor as statement_cursor
from backend.core.versioned import EVERY_PART, Versioned

from .. import statements
from ..models import Certificate, RecordCorrection, ServiceRecord, Volunteer, mask_name
from .check import Mismatch as Mismatch
from .check import effective_value_mismatches as effective_value_mismatches

_M = TypeVar("_M", bound=Model)

APPROVED = ServiceRecord.Status.APPROVED
ZERO = Decimal("0.00")
_HOURS = DecimalField(max_digits=12, decimal_places=2)


# Star levels -------------------------------------------------------------------------------------


def star_thresholds() -> list[Decimal]:
    return sorted(Decimal(str(value)) for value in settings.VOLUNTEER_STAR_THRESHOLDS)


def star_level(hours: Decimal | None, thresholds: Iterable[Decimal] | None = None) -> int:
    """0 below the first threshold; 一星 from 100 h … 五星 from 1500 h (by default). A page of many
    volunteers passes `star_thresholds()` read once."""
    hours = hours or ZERO
    return sum(1 for threshold in (star_thresholds() if thresholds is None else thresholds) if hours >= threshold)


def next_star_hours(hours: Decimal | None) -> Decimal | None:
    """Hours still needed for the next star, or None at the top."""
    hours = hours or ZERO
    for threshold in star_thresholds():
        if hours < threshold:
            return threshold - hours
    return None


def record_cap_hours() -> Decimal:
    return Decimal(str(settings.VOLUNTEER_RECORD_CAP_HOURS))


# Totals --------------------------------------------------------------------------------------------


def total_hours(volunteer_id: int) -> Decimal:
    """Approved hours of all time, summed over the records (never a counter)."""
    total = ServiceRecord.objects.filter(volunteer_id=volunteer_id, status=APPROVED).aggregate(
        total=Coalesce(Sum("hours"), Value(ZERO), output_field=_HOURS)
    )["total"]
    return Decimal(total).quantize(ZERO)


def total_hours_subquery() -> Coalesce:
    per_volunteer = (
        ServiceRecord.objects.filter(volunteer_id=OuterRef("pk"), status=APPROVED)
        .order_by()
        .values("volunteer_id")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    return Coalesce(Subquery(per_volunteer, output_field=_HOURS), Value(ZERO), output_field=_HOURS)


def volunteer_of(user: Any) -> Volunteer | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Volunteer.objects.select_related("community").filter(user=user).first()


# The volunteer's own profile ---------------------------------------------------------------------


@dataclass(frozen=True)
class TeamBrief:
    id: int
    name: str
    community_id: int


@dataclass(frozen=True)
class OwnProfile:
    """What `volunteers/me` shows: the volunteer, their community's name, approved total and teams."""

    id: int
    volunteer_number: str
    real_name: str
    community_id: int
    skills: str
    id_type: str
    id_number_masked: str
    consent_version: str
    consent_at: datetime | None
    registered_via: str
    registered_on: date
    community_name: str
    total_hours: Decimal
    teams: list[TeamBrief]


@dataclass(frozen=True)
class OwnRead:
    """What a read of one's own holds beside its answer: whether the caller's account is active
    (None: there is no such account), for views whose authentication leaves the account to them."""

    account_active: bool | None
    profile: OwnProfile | None  # None: the account is no volunteer (or there is no account)


def own_profile(*, user_id: int) -> OwnRead:
    """The user's volunteer profile with their approved total (as `total_hours`) and teams, and
    whether their account is active. One statement (statements.profile); it was three: the account,
    then the volunteer and their teams compiled by the ORM on each request."""
    alias = router.db_for_read(Volunteer) or DEFAULT_DB_ALIAS
    sql, converters = statements.profile(alias)
    database = connections[alias]
    with statement_cursor(database) as cursor:
        cursor.execute(sql, [APPROVED, user_id])
        rows = cursor.fetchall()
    if not rows:
        return OwnRead(account_active=None, profile=None)
    values = list(rows[0])
    for index, found, column in converters:
        for converter in found:
            values[index] = converter(values[index], column, database)
    active, pk, number, name, community_id, skills, id_type, masked, consent, consent_at, via, on, place, total = (
        values[:-3]
    )
    if pk is None:
        return OwnRead(account_active=bool(active), profile=None)
    profile = OwnProfile(
        id=pk,
        volunteer_number=number,
        real_name=name,
        community_id=community_id,
        skills=skills,
        id_type=id_type,
        id_number_masked=masked,
        consent_version=consent,
        consent_at=consent_at,
        registered_via=via,
        registered_on=on,
        community_name=place,
        total_hours=_hours(total),
        teams=[TeamBrief(id=team, name=title, community_id=home) for *_, team, title, home in rows if team is not None],
    )
    return OwnRead(account_active=bool(active), profile=profile)


# Who sees what -------------------------------------------------------------------------------------


def _own_or_scope(user: Any, qs: QuerySet[_M], *, owner: str, community: str, street: str) -> QuerySet[_M]:
    scope = get_scope(user)
    if scope.is_superuser:
        return qs
    # Q() | X is X in Django, so a superuser's empty scope filter must not meet the OR above.
    return qs.filter(Q(**{owner: user}) | scope_q(user, community=community, street=street))


def visible_volunteers(user: Any) -> QuerySet[Volunteer]:
    """Volunteers whose home community the caller acts on as staff."""
    return Volunteer.objects.filter(scope_q(user, community="community", street="community__street"))


def visible_records(user: Any) -> QuerySet[ServiceRecord]:
    """The caller's own records and those organised by communities in their staff scope."""
    return _own_or_scope(
        user, ServiceRecord.objects.all(), owner="volunteer__user", community="community", street="community__street"
    )


def staff_records(user: Any) -> QuerySet[ServiceRecord]:
    """Records the caller may approve, reject and correct: organised by a community in their scope."""
    return ServiceRecord.objects.filter(scope_q(user, community="community", street="community__street"))


def record_list(qs: QuerySet[ServiceRecord]) -> QuerySet[ServiceRecord]:
    """Everything a list page shows, in one query whatever the number of rows."""
    return qs.select_related("volunteer", "community", "activity", "evidence", "approved_by", "rejected_by").annotate(
        correction_count=Count("corrections")
    )


def corrections_of(record: ServiceRecord) -> QuerySet[RecordCorrection]:
    return record.corrections.select_related("corrected_by").order_by("id")


def visible_certificates(user: Any) -> QuerySet[Certificate]:
    return _own_or_scope(
        user, Certificate.objects.all(), owner="volunteer__user", community="community", street="community__street"
    )


def staff_certificates(user: Any) -> QuerySet[Certificate]:
    return Certificate.objects.filter(scope_q(user, community="community", street="community__street"))


def ledger_community(user: User | None, community_id: int) -> Community | None:
    """The community whose 台账 the caller may export: one they act on as staff; else None (a 404)."""
    if not can_act_on_community(user, community_id):
        return None
    return Community.objects.filter(pk=community_id).first()


def certificate_by_number(number: str) -> Certificate | None:
    return Certificate.objects.filter(number=(number or "").strip().upper()).first()


# Leaderboards --------------------------------------------------------------------------------------


def _approved_in(period: Period, *, community_id: int | None, street_id: int | None) -> QuerySet[ServiceRecord]:
    qs = ServiceRecord.objects.filter(status=APPROVED).filter(period.q("started_at"))
    if community_id is not None:
        return qs.filter(community_id=community_id)
    if street_id is None:
        raise ValueError("give one of community_id or street_id")
    return qs.filter(community__street_id=street_id)


def leaderboard(
    *, period: Period, community_id: int | None = None, street_id: int | None = None
) -> QuerySet[ServiceRecord, Mapping[str, Any]]:
    """Rows `{volunteer_id, total, rank}`, most hours first, over every volunteer with hours there.

    The ranking's definition as a queryset: `leaderboard_page` reads it through a statement of its
    own (statements.board), held to this one's answers by tests/volunteers/test_leaderboard.py."""
    if (community_id is None) == (street_id is None):
        raise ValueError("give exactly one of community_id or street_id")
    return (
        _approved_in(period, community_id=community_id, street_id=street_id)
        .values("volunteer_id")
        .annotate(total=Sum("hours"))
        .annotate(rank=Window(Rank(), order_by=F("total").desc()))
        .order_by("-total", "volunteer_id")
    )


def leaderboard_place_exists(*, community_id: int | None = None, street_id: int | None = None) -> bool:
    """Whether the community or street ranked exists: an empty board there is a page, elsewhere a 404."""
    if community_id is not None:
        return Community.objects.filter(pk=community_id).exists()
    return street_id is not None and Community.objects.filter(street_id=street_id).exists()


@dataclass(frozen=True)
class LeaderboardVolunteer:
    pk: int
    user_id: int
    real_name: str
    volunteer_number: str

    @property
    def masked_name(self) -> str:
        return mask_name(self.real_name)


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    volunteer: LeaderboardVolunteer
    hours: Decimal
    total_hours: Decimal
    star_level: int


@dataclass(frozen=True)
class LeaderboardPage:
    rows: list[LeaderboardRow]
    ranked: int | None  # how many are ranked; None when the page is past the end
    me: OwnRank | None  # the caller's own place; None when they are no volunteer (or none was asked)
    account_active: bool | None = None  # whether the caller's account is active; None: no such account


def leaderboard_page(
    *,
    period: Period,
    offset: int,
    limit: int,
    community_id: int | None = None,
    street_id: int | None = None,
    user_id: int | None = None,
) -> LeaderboardPage:
    """One page of `leaderboard`, how many are ranked, and the caller's own place, in one statement
    (statements.board). tests/volunteers/test_leaderboard.py holds it to `leaderboard`'s answers.

    The statement gives each row's place in the order, and how many have more hours than the
    page's first row and than the caller: a competition rank is one more than that count, a row
    tied with the one before it shares its rank, and any other row is ranked by its place.

    Length: one statement and the loop reading its two parts, kept together so the columns can be
    read against the SELECT that makes them.
    """
    if (community_id is None) == (street_id is None):
        raise ValueError("give exactly one of community_id or street_id")
    alias = router.db_for_read(ServiceRecord) or DEFAULT_DB_ALIAS
    since, until = period.start, period.end
    sql = statements.board(alias, by_street=street_id is not None, since=since is not None, until=until is not None)
    database = connections[alias]
    # As the ORM sends a time to each database (SQLite compares naive UTC text).
    bounds = [database.ops.adapt_datetimefield_value(bound) for bound in (since, until) if bound is not None]
    with statement_cursor(database) as cursor:
        place = community_id if community_id is not None else street_id
        cursor.execute(sql, [APPROVED, *bounds, place, limit, offset, APPROVED, user_id])
        rows = cursor.fetchall()
    page: list[LeaderboardRow] = []
    ranked, me, active, previous = None, None, None, None
    thresholds = star_thresholds()
    for part, volunteer_id, total, above, count, row_user_id, real_name, number, all_time in rows:
        if part == 1:
            # The caller's account, and their place when they are a volunteer.
            active = bool(count)
            if volunteer_id is not None:
                mine = None if total is None else int(above) + 1  # unranked: no approved hours here
                me = OwnRank(rank=mine, hours=_hours(total))
            continue
        ranked = int(count)
        # Tied with the row before (the raw totals, compared as the statement compared them): its
        # rank; else one more than the rows before it, or than those above the page for its first.
        tied = bool(page) and total == previous
        rank = page[-1].rank if tied else (offset + len(page) if page else int(above)) + 1
        previous, all_time = total, _hours(all_time)
        page.append(
            LeaderboardRow(
                rank=rank,
                volunteer=LeaderboardVolunteer(
                    pk=volunteer_id, user_id=row_user_id, real_name=real_name, volunteer_number=number
                ),
                hours=_hours(total),
                total_hours=all_time,
                star_level=star_level(all_time, thresholds),
            )
        )
    return LeaderboardPage(rows=page, ranked=ranked, me=me, account_active=active)


def _changes_a_board(record: ServiceRecord, created: bool | None) -> tuple[()] | None:
    # A new pending record (every check-out of a service activity makes one) ranks no one yet; an
    # approval, a correction, a rejection or a removal may change what any board shows.
    return () if created and record.status != APPROVED else EVERY_PART


# Every leaderboard's pages and callers' places, kept until approved hours, a volunteer (the name
# and number shown), a community (the street a board sums) or a correction changes.
boards = Versioned("leaderboards", [(ServiceRecord, _changes_a_board), RecordCorrection, Volunteer, Community])


def board_keys(
    *, period: Period, offset: int, limit: int, user_id: int, community_id: int | None, street_id: int | None
) -> tuple[str, str]:
    """The keys of a board's page and of the caller's place on it in `boards`."""
    place = f"c{community_id}" if community_id is not None else f"s{street_id}"
    stars = ",".join(str(threshold) for threshold in star_thresholds())
    board = f"{place}:{period.start and period.start.isoformat()}:{period.end and period.end.isoformat()}:{stars}"
    return f"{board}:{offset}:{limit}", f"{board}:me:{user_id}"


def kept_leaderboard_page(
    *,
    period: Period,
    offset: int,
    limit: int,
    user_id: int,
    community_id: int | None = None,
    street_id: int | None = None,
) -> LeaderboardPage:
    """`leaderboard_page`, whose page (shared by every caller) and caller's place are kept in the
    cache (core.versioned, `boards`): read again while no approved hours changed, it costs the
    account's state alone. Any change of approved hours anywhere is a new version for every board:
    a volunteer's all-time total, on the pages of each community they served, changes with it."""
    page_key, me_key = board_keys(
        period=period, offset=offset, limit=limit, user_id=user_id, community_id=community_id, street_id=street_id
    )
    found = boards.find([page_key, me_key])
    if page_key in found.entries and me_key in found.entries:
        active = is_active_account(user_id)
        if not active:
            return LeaderboardPage(rows=[], ranked=None, me=None, account_active=active)
        rows, ranked = found.entries[page_key]
        return LeaderboardPage(rows=rows, ranked=ranked, me=found.entries[me_key], account_active=True)
    page = leaderboard_page(
        period=period, offset=offset, limit=limit, community_id=community_id, street_id=street_id, user_id=user_id
    )
    if page.account_active:
        boards.keep(found, {page_key: (page.rows, page.ranked), me_key: page.me})
    return page


def _hours(value: Any) -> Decimal:
    # Raw SQL answers NUMERIC on PostgreSQL and a float on SQLite; both to two places here.
    if isinstance(value, Decimal):
        return value.quantize(ZERO)
    return Decimal(str(value if value is not None else 0)).quantize(ZERO)


@dataclass(frozen=True)
class OwnRank:
    rank: int | None  # None: no approved hours here in the period
    hours: Decimal


# The 台账 -------------------------------------------------------------------------------------------


def records_for_export(*, community_id: int, period: Period) -> QuerySet[ServiceRecord]:
    return (
        record_list(ServiceRecord.objects.filter(community_id=community_id).filter(period.q("started_at")))
        .select_related("volunteer__user")
        .order_by("started_at", "id")
    )


# Audiences (registered with notices and activities) ------------------------------------------------


def community_volunteer_user_ids(community_ids: Iterable[int]) -> set[int]:
    return set(
        Volunteer.objects.filter(community_id__in=list(community_ids), user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def street_volunteer_user_ids(street_ids: Iterable[int]) -> set[int]:
    return set(
        Volunteer.objects.filter(community__street_id__in=list(street_ids), user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def _activity_volunteers(community_id: int) -> QuerySet[Volunteer]:
    # A community's volunteers: those registered there and the members of its teams.
    return Volunteer.objects.filter(Q(community_id=community_id) | Q(teams__community_id=community_id))


def is_activity_volunteer(user: Any, activity: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return _activity_volunteers(activity.community_id).filter(user=user).exists()


def activity_volunteer_user_ids(activity: Any) -> set[int]:
    return set(
        _activity_volunteers(activity.community_id).filter(user__is_active=True).values_list("user_id", flat=True)
    )


# Personal data (accounts.registry) ------------------------------------------------------------


_PROFILE_COLUMNS = (
    "id",
    "volunteer_number",
    "community_id",
    "real_name",
    "skills",
    "id_type",
    "id_number_masked",
    "consent_version",
    "consent_at",
    "registered_via",
    "registered_on",
    "created_at",
)
_RECORD_COLUMNS = (
    "id",
    "community_id",
    "community__name",
    "activity_id",
    "activity__title",
    "content",
    "place",
    "reported_started_at",
    "reported_ended_at",
    "started_at",
    "ended_at",
    "hours",
    "source",
    "status",
    "created_at",
    "approved_at",
    "rejected_at",
    "reject_reason",
)
_CORRECTION_COLUMNS = (
    "id",
    "record_id",
    "previous_started_at",
    "previous_ended_at",
    "previous_hours",
    "started_at",
    "ended_at",
    "hours",
    "reason",
    "corrected_at",
)
_CERTIFICATE_COLUMNS = (
    "id",
    "number",
    "community_id",
    "period_start",
    "period_end",
    "hours",
    "record_count",
    "volunteer_name",
    "volunteer_number",
    "id_type",
    "id_number_masked",
    "service_summary",
    "issuer_name",
    "issued_on",
    "revoked_at",
    "revoke_reason",
)


def personal_data(user: Any) -> dict[str, Any]:
    """The user's volunteer profile (ID number decrypted: it is their own export), records with
    their corrections, and certificates as issued."""
    volunteer = Volunteer.objects.select_related("community").filter(user=user).first()
    profile = row(volunteer, _PROFILE_COLUMNS)
    if volunteer is None or profile is None:
        return {"volunteer": None, "service_records": [], "record_corrections": [], "certificates": []}
    profile["community_name"] = volunteer.community.name
    profile["id_number"] = crypto.decrypt(volunteer.id_number_encrypted) if volunteer.id_number_encrypted else None
    return {
        "volunteer": profile,
        "service_records": rows(ServiceRecord.objects.filter(volunteer=volunteer).order_by("id"), *_RECORD_COLUMNS),
        "record_corrections": rows(
            RecordCorrection.objects.filter(record__volunteer=volunteer).order_by("id"), *_CORRECTION_COLUMNS
        ),
        "certificates": [
            plain(certificate)
            for certificate in Certificate.objects.filter(volunteer=volunteer)
            .order_by("id")
            .values(*_CERTIFICATE_COLUMNS)
        ],
    }
