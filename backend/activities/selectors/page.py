"""The page of one community's activities that every mini-program opens (`?community=C`), read by
three statements of its own: the caller's role grants and party facts; the page's rows with the
total; the page's counts with the caller's own enrolment and check-in. The grants make the caller's
scope (accounts.scoping.prime_scope decides, as for every request), which says whether they are
staff of the community, who also see its drafts.

The same answer through the ORM (`visible_activities` filtered to the community, `with_counts`,
the filter's lookup, `COUNT(*)` and the page) cost about four times this path's CPU, most of it
building and compiling two large statements; PostgreSQL then spent longer planning them than
running them. Here each statement's text is built once per shape, no activity becomes a model
(only a cover's upload and the caller's grants do, for the code that reads them), and the
statements are the simplest the database plans: the visibility rule takes the caller's facts as
values, the total comes with the page (a window over the page's narrow query), and the counts are
one grouped pass over the page's ids. tests/activities/test_community_page.py holds the rows, the
total and the order to the ORM's, for every kind of caller.

The view reads it kept (`kept_community_page`, `pages`): the page as written, its counts and total
are the same for every caller of a kind until a write to the community's activities changes them,
so a page read again costs the caller's statement and a small one for their own enrolment and
check-in on its rows. tests/activities/test_kept_page.py holds the kept answers to these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.db import connection
from django.utils import timezone

from backend.accounts.models import RoleGrant, User
from backend.accounts.scoping import Scope, prime_scope
from backend.brands.models import Brand
from backend.communities.models import Community, PartyOrganization, Place
from backend.core.models import Upload
from backend.core.statements import cursor as statement_cursor
from backend.core.versioned import EVERY_PART, Versioned

from ..models import Activity, CheckIn, Enrollment
from .visibility import OPEN_AUDIENCES, PARTY_FACTS_COLUMNS, PARTY_FACTS_FROM, facts_of, party_facts_params

Row = dict[str, Any]

# The activity's own columns, in the statement's order; a row's keys are their attribute names.
_FIELDS = tuple(Activity._meta.concrete_fields)
ROW_KEYS = tuple(field.attname for field in _FIELDS)
_ENROLLED, _WAITLISTED = Enrollment.Status.ENROLLED, Enrollment.Status.WAITLISTED

# Statement texts by shape: (staff of the community, party member there, how many branches) for
# the page, the number of ids for the counts. Table names come from the models, column names are
# the models' own; every value is a parameter.
_PAGE_SQL: dict[tuple[bool, bool, int, bool], str] = {}
_COUNTS_SQL: dict[int, str] = {}
_OWN_SQL: dict[int, str] = {}


@dataclass(frozen=True)
class ActivityPage:
    """One page of a community's activities as the caller sees them: each row holds the activity's
    columns (by attribute name), `community_name`, `brand_name`, `branch_name`, the cover (an
    Upload or None), the three counts and the caller's `my_enrollment` and `my_checked_in`."""

    rows: list[Row]
    total: int  # every activity of the community the caller sees, over all pages
    # Whether the caller's account may act; None: there is no such account. When it may not, nothing
    # else was read: the view refuses it (authentication did not read it first, AccountInStatement).
    account_active: bool | None = True


# The caller's active role grants (a role in the first column), their party facts (none there), and
# the account's own state (ACCOUNT in the first column: whether it is active, whether a superuser):
# the view authenticates the token without reading the account first (AccountInStatement).
ACCOUNT, HELD = "", "~"  # no role is named so
_CALLER_SQL = (
    "SELECT g.role, g.street_id, g.community_id, g.grid_id, g.organization_id "  # noqa: S608
    f"FROM {RoleGrant._meta.db_table} g WHERE g.user_id = %s AND g.revoked_at IS NULL "
    f"UNION ALL SELECT NULL, {PARTY_FACTS_COLUMNS} {PARTY_FACTS_FROM} "
    "UNION ALL SELECT %s, CASE WHEN u.is_active THEN 1 ELSE 0 END, CASE WHEN u.is_superuser THEN 1 ELSE 0 END, "
    f"NULL, NULL FROM {User._meta.db_table} u WHERE u.id = %s "
    # HELD in the first column: the caller's places (not given up) in the community's activities
    # that are not open to everyone, each its branch and whether it is for the party members.
    "UNION ALL SELECT %s, a.branch_id, CASE WHEN a.audience = %s THEN 1 ELSE 0 END, NULL, NULL "
    f"FROM {Enrollment._meta.db_table} e JOIN {Activity._meta.db_table} a ON a.id = e.activity_id "
    "WHERE e.user_id = %s AND e.status <> %s AND a.community_id = %s AND a.status <> %s "
    f"AND a.audience NOT IN ({', '.join(['%s'] * len(OPEN_AUDIENCES))})"
)


@dataclass(frozen=True)
class _Caller:
    active: bool | None  # whether the account may act; None: there is none
    scope: Scope | None  # None unless active
    communities: set[int]  # visibility.facts_of
    branches: set[int]
    held: list[tuple[int | None, bool]]  # HELD's rows: (branch, for the party members)


def _caller(user: Any, community_id: int) -> _Caller:
    """Whether the caller's account may act, then, when it may, their scope, primed from their
    grants, their party facts (visibility.facts_of) and the places they hold in the community's
    activities that are for some people only."""
    with statement_cursor(connection) as cursor:
        cursor.execute(
            _CALLER_SQL,
            [
                user.pk,
                *party_facts_params(user.pk),
                ACCOUNT,
                user.pk,
                HELD,
                Activity.Audience.PARTY_MEMBERS,
                user.pk,
                Enrollment.Status.WITHDRAWN,
                community_id,
                Activity.Status.DRAFT,
                *OPEN_AUDIENCES,
            ],
        )
        found = cursor.fetchall()
    account = next((row for row in found if row[0] == ACCOUNT), None)
    if account is None or not account[1]:
        return _Caller(None if account is None else False, None, set(), set(), [])
    # The deferred user gets the two facts the scope reads; its other fields stay unread.
    user.is_active, user.is_superuser = True, bool(account[2])
    grants = [
        RoleGrant(role=role, street_id=street, community_id=community, grid_id=grid, organization_id=organization)
        for role, street, community, grid, organization in found
        if role is not None and role not in (ACCOUNT, HELD)
    ]
    communities, branches = facts_of(row[1:] for row in found if row[0] is None)
    held = [(row[1], bool(row[2])) for row in found if row[0] == HELD]
    return _Caller(True, prime_scope(user, grants), communities, branches, held)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _page_sql(*, staff: bool, member: bool, branches: int, held: bool = True) -> str:
    """`held`: whether the places the caller holds show them more (false: the kind's page alone)."""
    key = (staff, member, branches, held)
    sql = _PAGE_SQL.get(key)
    if sql is not None:
        return sql
    activity = Activity._meta.db_table
    where = "a.community_id = %s"
    if not staff:
        # visible_activities for a community: not a draft, and open to all, or for the caller's
        # party membership there or their branches, or held by their enrolment (not withdrawn).
        shown = f"a.audience IN ({_placeholders(len(OPEN_AUDIENCES))})"
        if member:
            shown += " OR a.audience = %s"
        if branches:
            shown += f" OR (a.audience = %s AND a.branch_id IN ({_placeholders(branches)}))"
        if held:
            shown += (
                f" OR EXISTS (SELECT 1 FROM {Enrollment._meta.db_table} e"  # noqa: S608
                " WHERE e.activity_id = a.id AND e.user_id = %s AND e.status <> %s)"
            )
        where += f" AND a.status <> %s AND ({shown})"
    columns = ", ".join(f"a.{field.column}" for field in _FIELDS)
    sql = _PAGE_SQL[key] = (
        # The window counts the narrow rows of the page's own query, before its LIMIT.
        f"WITH page AS (SELECT a.id, a.starts_at, COUNT(*) OVER () AS total FROM {activity} a "  # noqa: S608
        f"WHERE {where} ORDER BY a.starts_at DESC, a.id DESC LIMIT %s OFFSET %s) "
        f"SELECT p.total, {columns}, "
        # Scalar subqueries, not joins: PostgreSQL plans them for a fraction of a join's cost.
        f"(SELECT c.name FROM {Community._meta.db_table} c WHERE c.id = a.community_id), "
        f"(SELECT b.name FROM {Brand._meta.db_table} b WHERE b.id = a.brand_id), "
        f"(SELECT o.name FROM {PartyOrganization._meta.db_table} o WHERE o.id = a.branch_id) "
        f"FROM page p JOIN {activity} a ON a.id = p.id ORDER BY p.starts_at DESC, p.id DESC"
    )
    return sql


def _counts_sql(ids: int) -> str:
    sql = _COUNTS_SQL.get(ids)
    if sql is None:
        listed = _placeholders(ids)
        sql = _COUNTS_SQL[ids] = (
            # 0: enrolments by status; 1: check-ins. MAX(...) is whether one of them is the caller's.
            "SELECT 0, e.activity_id, e.status, COUNT(*), MAX(CASE WHEN e.user_id = %s THEN 1 ELSE 0 END) "  # noqa: S608
            f"FROM {Enrollment._meta.db_table} e WHERE e.activity_id IN ({listed}) AND e.status IN (%s, %s) "
            "GROUP BY e.activity_id, e.status UNION ALL "
            "SELECT 1, k.activity_id, k.kind, COUNT(*), MAX(CASE WHEN k.user_id = %s THEN 1 ELSE 0 END) "
            f"FROM {CheckIn._meta.db_table} k WHERE k.activity_id IN ({listed}) AND k.kind = %s "
            "GROUP BY k.activity_id, k.kind"
        )
    return sql


def _own_sql(ids: int) -> str:
    sql = _OWN_SQL.get(ids)
    if sql is None:
        listed = _placeholders(ids)
        sql = _OWN_SQL[ids] = (
            # 0: the caller's enrolment (at most one active a person); 1: their check-in.
            f"SELECT 0, e.activity_id, e.status FROM {Enrollment._meta.db_table} e "  # noqa: S608
            f"WHERE e.user_id = %s AND e.activity_id IN ({listed}) AND e.status IN (%s, %s) UNION ALL "
            f"SELECT 1, k.activity_id, NULL FROM {CheckIn._meta.db_table} k "
            f"WHERE k.user_id = %s AND k.activity_id IN ({listed}) AND k.kind = %s"
        )
    return sql


def _add_own(rows: list[Row], *, user_id: int) -> None:
    """The caller's own enrolment and check-in on a kept page's rows (the counts came with it)."""
    ids = [row["id"] for row in rows]
    enrolled: dict[int, str] = {}
    checked_in: set[int] = set()
    if ids:
        params = [user_id, *ids, _ENROLLED, _WAITLISTED, user_id, *ids, CheckIn.Kind.IN]
        with statement_cursor(connection) as cursor:
            cursor.execute(_own_sql(len(ids)), params)
            for source, pk, status in cursor.fetchall():
                if source == 0:
                    enrolled[pk] = status
                else:
                    checked_in.add(pk)
    for row in rows:
        row["my_enrollment"], row["my_checked_in"] = enrolled.get(row["id"]), row["id"] in checked_in


def _converters() -> list[tuple[int, list[Any], Any]]:
    """The conversions the ORM applies to the activity's columns on this database (SQLite's text
    times, integer booleans and decimals; none on PostgreSQL), by position in the row."""
    found = []
    for index, field in enumerate(_FIELDS):
        column = field.get_col(Activity._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if converters:
            found.append((index, converters, column))
    return found


_CONVERTERS: dict[str, list[tuple[int, list[Any], Any]]] = {}


def _rows(raw: list[tuple[Any, ...]]) -> list[Row]:
    converters = _CONVERTERS.get(connection.vendor)
    if converters is None:
        converters = _CONVERTERS[connection.vendor] = _converters()
    rows = []
    width = len(ROW_KEYS)
    for values in raw:
        columns = list(values[1 : width + 1])
        for index, found, column in converters:
            for converter in found:
                columns[index] = converter(columns[index], column, connection)
        row = dict(zip(ROW_KEYS, columns, strict=True))
        row["community_name"], row["brand_name"], row["branch_name"] = values[width + 1 :]
        rows.append(row)
    return rows


def _add_counts(rows: list[Row], *, user_id: int) -> None:
    ids = [row["id"] for row in rows]
    counts = {pk: [0, 0, 0, None, False] for pk in ids}
    params = [user_id, *ids, _ENROLLED, _WAITLISTED, user_id, *ids, CheckIn.Kind.IN]
    with statement_cursor(connection) as cursor:
        cursor.execute(_counts_sql(len(ids)), params)
        for source, pk, key, count, mine in cursor.fetchall():
            entry = counts[pk]
            if source == 0:
                entry[0 if key == _ENROLLED else 1] = count
                if mine:
                    entry[3] = key  # at most one active enrolment a person (enrollment_one_active)
            else:
                entry[2], entry[4] = count, bool(mine)
    for row in rows:
        enrolled, waitlisted, checked_in, mine, checked_in_mine = counts[row["id"]]
        row.update(
            enrolled_count=enrolled,
            waitlisted_count=waitlisted,
            checked_in_count=checked_in,
            my_enrollment=mine,
            my_checked_in=checked_in_mine,
        )


def _add_covers(rows: list[Row]) -> None:
    # Few activities have a cover; those that do are shown by UploadSerializer, which needs the row.
    wanted = {row["cover_id"] for row in rows if row["cover_id"] is not None}
    covers = Upload.objects.in_bulk(wanted) if wanted else {}
    for row in rows:
        row["cover"] = covers.get(row["cover_id"])


def _community_of_activity(instance: Enrollment | CheckIn) -> int | None:
    # The activity the service already holds; a query only where it is not loaded.
    activity = type(instance)._meta.get_field("activity").get_cached_value(instance, default=None)
    if isinstance(activity, Activity):
        return int(activity.community_id)
    found: int | None = Activity.objects.filter(pk=instance.activity_id).values_list("community_id", flat=True).first()
    return found


def _attendance_parts(instance: Enrollment | CheckIn, created: bool | None) -> tuple[str, ...] | None:
    community_id = _community_of_activity(instance)
    return EVERY_PART if community_id is None else (str(community_id),)


def _when_deleted(instance: Any, created: bool | None) -> tuple[()] | None:
    # Deleting a place or an upload empties the activities' `venue` or `cover` (SET NULL: an UPDATE,
    # no signal for the activities); saving one changes nothing a page shows.
    return EVERY_PART if created is None else ()


# Each community's pages as each kind of caller sees them (core.versioned), a new version of the
# community's when its activities, their enrolments or check-ins, or its name change, of every
# community's when a brand's or a party organisation's name may have, or a place or an upload an
# activity may point at is deleted. The enrolments promoted from a waiting list (one UPDATE) and
# phone check-ins (a statement written once) send no signal: their services touch the community's
# version themselves.
pages = Versioned(
    "activity-pages",
    [
        (Activity, lambda activity, created: (str(activity.community_id),)),
        (Enrollment, _attendance_parts),
        (CheckIn, _attendance_parts),
        (Community, lambda community, created: (str(community.pk),)),
        Brand,
        PartyOrganization,
        (Place, _when_deleted),
        (Upload, _when_deleted),
    ],
)


def _kind(caller: _Caller, community_id: int) -> tuple[str, bool]:
    """Which page the caller sees (the key of the kept ones): staff, or whether a party member of the
    community and of which branches; and whether the page for that kind is the caller's own, that
    is, no place they hold shows them an activity their kind does not see."""
    scope = caller.scope
    assert scope is not None
    if not scope.is_superuser and community_id in scope.community_ids:
        return "staff", True
    member, branches = community_id in caller.communities, caller.branches
    kind = f"member={int(member)};branches={','.join(str(pk) for pk in sorted(branches))}"
    shared = all(member if for_members else branch in branches for branch, for_members in caller.held)
    return kind, shared


def community_page(*, user: Any, community_id: int, offset: int, limit: int) -> ActivityPage:
    """The caller's page of the community's activities, newest start first (as the list's default
    ordering), with the total they see. No rows past the end, or for a community that does not
    exist: the caller decides which it was."""
    caller = _caller(user, community_id)
    if caller.scope is None:
        return ActivityPage(rows=[], total=0, account_active=caller.active)
    return _read_page(user=user, caller=caller, community_id=community_id, offset=offset, limit=limit)


@dataclass(frozen=True)
class WrittenPage:
    """`community_page` as `write` wrote its rows, each with the caller's own `my_enrollment` and
    `my_checked_in`; `covers` holds the Uploads of the rows' covers by id (never kept)."""

    rows: list[dict[str, Any]]
    total: int
    account_active: bool | None = True
    covers: dict[int, Upload] = dataclass_field(default_factory=dict)


def kept_community_page(
    *, user: Any, community_id: int, offset: int, limit: int, write: Callable[[list[Row]], list[dict[str, Any]]]
) -> WrittenPage:
    """`community_page` with its rows as `write` writes them (without the request), kept (`pages`)
    for every caller of the same kind: read again, it costs the caller's statement and their own
    enrolment and check-in on the page's rows; a cover's Upload is read where a row has one."""
    caller = _caller(user, community_id)
    if caller.scope is None:
        return WrittenPage(rows=[], total=0, account_active=caller.active)
    kind, shared = _kind(caller, community_id)
    key = f"{community_id}:{kind}:{offset}:{limit}:{timezone.get_current_timezone_name()}"
    found = pages.find([key], part=str(community_id)) if shared else None
    if found is not None and key in found.entries:
        rows, total = found.entries[key]
        _add_own(rows, user_id=user.pk)
        wanted = {row["cover"] for row in rows if row["cover"] is not None}
        return WrittenPage(rows=rows, total=total, covers=Upload.objects.in_bulk(wanted) if wanted else {})
    page = _read_page(user=user, caller=caller, community_id=community_id, offset=offset, limit=limit, held=not shared)
    written = write(page.rows)
    if found is not None:
        kept = [{**row, "my_enrollment": None, "my_checked_in": False} for row in written]
        pages.keep(found, {key: (kept, page.total)})
    covers = {row["cover_id"]: row["cover"] for row in page.rows if row["cover"] is not None}
    return WrittenPage(rows=written, total=page.total, covers=covers)


def _read_page(
    *, user: Any, caller: _Caller, community_id: int, offset: int, limit: int, held: bool = True
) -> ActivityPage:
    """`held` false: the page of the caller's kind, without what their own places show them (the
    page kept for the kind must not depend on who read it, nor on places they took since)."""
    # As visible_activities: staff see all of their communities' activities, drafts included. A
    # superuser's scope is no filter there (an empty Q), which adds nothing to what they see.
    scope, branches = caller.scope, caller.branches
    assert scope is not None
    params: list[Any] = [community_id]
    if not scope.is_superuser and community_id in scope.community_ids:
        sql = _page_sql(staff=True, member=False, branches=0)
    else:
        member = community_id in caller.communities
        sql = _page_sql(staff=False, member=member, branches=len(branches), held=held)
        params += [Activity.Status.DRAFT, *OPEN_AUDIENCES]
        if member:
            params.append(Activity.Audience.PARTY_MEMBERS)
        if branches:
            params += [Activity.Audience.BRANCH, *sorted(branches)]
        if held:
            params += [user.pk, Enrollment.Status.WITHDRAWN]
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, [*params, limit, offset])
        raw = cursor.fetchall()
    if not raw:
        return ActivityPage(rows=[], total=0)
    rows = _rows(raw)
    _add_counts(rows, user_id=user.pk)
    _add_covers(rows)
    return ActivityPage(rows=rows, total=int(raw[0][0]))


def community_exists(community_id: int) -> bool:
    return Community.objects.filter(pk=community_id).exists()
