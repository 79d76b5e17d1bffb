"""The SQL of the busiest reads, written once per database and shape: a volunteer's own profile and
a page of a leaderboard (selectors.own_profile, selectors.leaderboard_page run them).

Both are read on every opening of the volunteer pages. Built by the ORM, they were compiled again
on every request, and the compiling cost more than the database's work (docs/benchmarks.md). Only
names from the models, quoted, go into these texts; every value is a parameter. The tests hold
each statement's answers to the ORM query it replaced (tests/volunteers/test_own_profile.py,
tests/volunteers/test_leaderboard.py), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Field, Model

from backend.accounts.models import User
from backend.communities.models import Community

from .models import ServiceRecord, Volunteer, VolunteerTeam

# (index in the row, the converters, the column they are given): as the ORM applies them.
Converters = list[tuple[int, list[Any], Any]]

# The volunteer's columns of a profile, in selectors.OwnProfile's order; the community's name and
# the approved total follow them.
PROFILE_FIELDS = (
    "id",
    "volunteer_number",
    "real_name",
    "community",
    "skills",
    "id_type",
    "id_number_masked",
    "consent_version",
    "consent_at",
    "registered_via",
    "registered_on",
)


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} has no column")
    return field


class _Names:
    """Quoted table and column names for one database."""

    def __init__(self, alias: str) -> None:
        self.quote = connections[alias].ops.quote_name

    def table(self, model: type[Model]) -> str:
        return self.quote(model._meta.db_table)

    def column(self, model: type[Model], name: str) -> str:
        return self.quote(str(_field(model, name).column))


_PROFILES: dict[str, tuple[str, Converters]] = {}


def profile(alias: str) -> tuple[str, Converters]:
    """The caller's account state, their volunteer row, community's name, approved total and teams,
    in one statement; parameters: the status approved, the user's id.

    One row per team, in the teams' own order (community, name): whether the account is active,
    the volunteer's columns (`PROFILE_FIELDS`, the community's name, the total), then the team's
    id, name and community. A volunteer without teams is one row whose team columns are NULL; an
    account that is no volunteer, one row of NULLs after the first column; no account, no row. The
    account is read here because the view's authentication leaves it to this statement
    (views.OwnReadMixin): one statement for the whole request. The teams are joined
    rather than a union of the volunteer's row and theirs: PostgreSQL plans it in about two thirds
    of the time, and the total, evaluated once a row, costs an index-only scan of the volunteer's
    approved records for each of the few teams a volunteer is in. The converters are those the ORM
    applies to these columns (SQLite's integer booleans, text times and dates).
    """
    prepared = _PROFILES.get(alias)
    if prepared is not None:
        return prepared
    names, connection = _Names(alias), connections[alias]
    fields = [(User, _field(User, "is_active"))] + [(Volunteer, _field(Volunteer, name)) for name in PROFILE_FIELDS]
    team, through, record = VolunteerTeam, VolunteerTeam.members.through, ServiceRecord
    v_id, u_id = names.column(Volunteer, "id"), names.column(User, "id")
    columns = ", ".join(f"{'u' if model is User else 'v'}.{names.quote(str(field.column))}" for model, field in fields)
    t_id, t_name, t_community = (names.column(team, name) for name in ("id", "name", "community"))
    sql = (
        f"SELECT {columns}, c.{names.column(Community, 'name')}, "  # noqa: S608
        f"(SELECT SUM(r.{names.column(record, 'hours')}) FROM {names.table(record)} AS r "
        f"WHERE r.{names.column(record, 'volunteer')} = v.{v_id} AND r.{names.column(record, 'status')} = %s), "
        f"t.{t_id}, t.{t_name}, t.{t_community} "
        f"FROM {names.table(User)} AS u "
        f"LEFT JOIN {names.table(Volunteer)} AS v ON v.{names.column(Volunteer, 'user')} = u.{u_id} "
        f"LEFT JOIN {names.table(Community)} AS c "
        f"ON c.{names.column(Community, 'id')} = v.{names.column(Volunteer, 'community')} "
        f"LEFT JOIN {names.table(through)} AS m ON m.{names.column(through, 'volunteer')} = v.{v_id} "
        f"LEFT JOIN {names.table(team)} AS t ON t.{t_id} = m.{names.column(through, 'volunteerteam')} "
        f"WHERE u.{u_id} = %s "
        f"ORDER BY t.{t_community}, t.{t_name}"
    )  # nosec B608  # names only (see the module's docstring)
    converters = []
    for index, (model, field) in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((index, found, column))
    prepared = _PROFILES[alias] = (sql, converters)
    return prepared


_BOARDS: dict[tuple[str, bool, bool, bool], str] = {}


def board(alias: str, *, by_street: bool, since: bool, until: bool) -> str:
    """A page of a leaderboard, the number ranked and the caller's place, in one statement;
    parameters: the status approved, the period's bounds given (since, until), the community's or
    street's id, the page's limit and offset, the status approved, the caller's user id.

    The totals (`selectors.leaderboard`'s: approved hours per volunteer, in the place and period)
    are summed once, from the approved-hours index alone (the record's community, start, volunteer
    and hours), and read for the page (part 0: its rows, most hours first, with the volunteers and
    their all-time totals for those rows only, the number ranked, and how many have more hours than
    the page's first row) and for the caller (part 1: their total and how many have more). A
    competition rank is one more than the number with more hours, so the rows' ranks follow from
    those counts and their order (selectors.leaderboard_page): no window over every total, no sort
    of them all, only the page's top rows. The caller's row comes from their account whether or
    not they are a volunteer, its `ranked` column saying whether the account is active (1 or 0):
    the view leaves the account to this statement (views.OwnReadMixin). No such account, no part 1.
    """
    key = (alias, by_street, since, until)
    sql = _BOARDS.get(key)
    if sql is not None:
        return sql
    names, record, volunteer = _Names(alias), ServiceRecord, Volunteer
    started, hours, owner, status = (
        names.column(record, name) for name in ("started_at", "hours", "volunteer", "status")
    )
    v_id, v_user, u_id = names.column(volunteer, "id"), names.column(volunteer, "user"), names.column(User, "id")
    where = [f"r.{status} = %s"]
    where += [f"r.{started} >= %s"] if since else []
    where += [f"r.{started} < %s"] if until else []
    joined = ""
    if by_street:
        community = names.column(record, "community")
        joined = f"JOIN {names.table(Community)} AS c ON c.{names.column(Community, 'id')} = r.{community} "
        where.append(f"c.{names.column(Community, 'street')} = %s")
    else:
        where.append(f"r.{names.column(record, 'community')} = %s")
    sql = _BOARDS[key] = (
        f"WITH totals AS (SELECT r.{owner} AS volunteer_id, SUM(r.{hours}) AS total "  # noqa: S608
        f"FROM {names.table(record)} AS r {joined}WHERE {' AND '.join(where)} GROUP BY r.{owner}), "
        "page AS (SELECT volunteer_id, total FROM totals ORDER BY total DESC, volunteer_id LIMIT %s OFFSET %s) "
        "SELECT 0 AS part, page.volunteer_id AS volunteer_id, page.total AS total, "
        "(SELECT COUNT(*) FROM totals AS o WHERE o.total > (SELECT MAX(p.total) FROM page AS p)) AS above, "
        f"(SELECT COUNT(*) FROM totals) AS ranked, v.{v_user} AS user_id, "
        f"v.{names.column(volunteer, 'real_name')} AS real_name, "
        f"v.{names.column(volunteer, 'volunteer_number')} AS number, "
        f"(SELECT SUM(a.{hours}) FROM {names.table(record)} AS a "
        f"WHERE a.{owner} = page.volunteer_id AND a.{status} = %s) AS all_time "
        f"FROM page JOIN {names.table(volunteer)} AS v ON v.{v_id} = page.volunteer_id "
        "UNION ALL "
        f"SELECT 1, v.{v_id}, me.total, (SELECT COUNT(*) FROM totals AS o WHERE o.total > me.total), "
        f"CASE WHEN u.{names.column(User, 'is_active')} THEN 1 ELSE 0 END, u.{u_id}, NULL, NULL, NULL "
        f"FROM {names.table(User)} AS u LEFT JOIN {names.table(volunteer)} AS v ON v.{v_user} = u.{u_id} "
        f"LEFT JOIN totals AS me ON me.volunteer_id = v.{v_id} WHERE u.{u_id} = %s "
        "ORDER BY part, total DESC, volunteer_id"
    )  # nosec B608  # names only (see the module's docstring)
    return sql
