"""Reads of notices: a user's inbox, replay after an id, the wire payload, and who is in an audience.

The payload built here is what the API lists and what the socket sends, so both agree field for
field: `{id, title, body, kind, created_at, read_at, attachments, sender, audience}`. The inbox's
pages and the replay write it from rows of their own statement (`_inbox_payloads`), held to
`notice_payload` by tests/notices/test_inbox_page.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import get_scope
from backend.accounts.selectors import rows
from backend.communities.models import Grid
from backend.core.events import Audience, may_watch, provided_user_ids
from backend.core.models import Upload
from backend.core.statements import cursor as statement_cursor

from . import subscribe
from .models import Notice, NoticeReceipt, SubscribeConsent

STAFF_ROLES = (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF)

# Chunk for IN lists: far below SQLite's variable limit and PostgreSQL's comfortable plan sizes.
ID_CHUNK = 2000


def users_in_reach(sender: User) -> QuerySet[User]:
    """The users a staff member may write to: residents of their communities, holders of roles there."""
    scope = get_scope(sender)
    users = User.objects.filter(is_active=True, anonymised_at__isnull=True)
    if scope.is_superuser:
        return users
    grants_in_scope = RoleGrant.objects.filter(revoked_at__isnull=True).filter(
        Q(community_id__in=scope.community_ids)
        | Q(street_id__in=scope.street_ids)
        | Q(grid__community_id__in=scope.community_ids)
        | Q(organization__community_id__in=scope.community_ids)
        | Q(organization__street_id__in=scope.street_ids)
    )
    return users.filter(Q(community_id__in=scope.community_ids) | Q(pk__in=grants_in_scope.values("user_id")))


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 with the server zone's offset, as every time on the wire."""
    return timezone.localtime(value).isoformat() if value is not None else None


def _attachment_payload(upload: Upload) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "url": upload.file.url,
        "thumbnail_url": upload.thumbnail.url if upload.thumbnail else None,
        "kind": upload.kind,
        "content_type": upload.content_type,
        "name": upload.original_name,
    }


def _uploads_by_id(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = {int(pk) for pk in ids}
    if not wanted:
        return {}
    return {upload.pk: _attachment_payload(upload) for upload in Upload.objects.filter(pk__in=wanted)}


def audience_payload(notice: Notice) -> dict[str, Any]:
    # A personal notice does not disclose who else received it.
    ids = [] if notice.audience_kind == Notice.AudienceKind.USERS else list(notice.audience_ids)
    return {"kind": notice.audience_kind, "ids": ids}


def notice_payload(
    notice: Notice,
    read_at: datetime | None = None,
    *,
    attachments: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The wire shape of one notice. Pass `attachments` (id → payload) to save the upload query."""
    if attachments is None:
        attachments = _uploads_by_id(notice.attachments)
    sender = notice.sender
    return {
        "id": notice.pk,
        "title": notice.title,
        "body": notice.body,
        "kind": notice.kind,
        "created_at": iso_time(notice.created_at),
        "read_at": iso_time(read_at),
        "attachments": [attachments[pk] for pk in notice.attachments if pk in attachments],
        "sender": {"id": sender.pk, "real_name": sender.real_name} if sender is not None else None,
        "audience": audience_payload(notice),
    }


def _inbox(user_id: int) -> QuerySet[NoticeReceipt]:
    return NoticeReceipt.objects.filter(user_id=user_id).select_related("notice", "notice__sender")


def notices_after(*, user_id: int, after_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The user's notices with an id above `after_id`, oldest first: what a reconnecting client missed."""
    return _inbox_payloads(
        _inbox_rows(user_id=user_id, after_id=after_id, before_id=None, limit=max(0, int(limit))).rows
    )


def last_notice_id(*, user_id: int) -> int:
    latest = (
        NoticeReceipt.objects.filter(user_id=user_id).order_by("-notice_id").values_list("notice_id", flat=True).first()
    )
    return int(latest or 0)


# The COUNT(*) statements of an inbox by shape (database, unread only, after an id, before an id).
_COUNT_SQL: dict[tuple[str, bool, bool, bool], str] = {}


def _column_name(field: object) -> str:
    """The table column of one of a model's own fields (never a reverse relation)."""
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{field!r} is not a concrete column")
    return field.column


def _column(alias: str, model: type[models.Model], name: str) -> str:
    return connections[alias].ops.quote_name(_column_name(model._meta.get_field(name)))


def _receipt_where(alias: str, prefix: str, *, unread: bool, after: bool, before: bool) -> str:
    """The receipts of one user (`%s`), unread only, above an id (`%s`), below one (`%s`), in that order."""
    column = {name: prefix + _column(alias, NoticeReceipt, name) for name in ("notice", "user", "read_at")}
    where = [f"{column['user']} = %s"]
    if unread:
        where.append(f"{column['read_at']} IS NULL")
    if after:
        where.append(f"{column['notice']} > %s")
    if before:
        where.append(f"{column['notice']} < %s")
    return " AND ".join(where)


def receipt_count(
    *, user_id: int, unread: bool = False, after_id: int | None = None, before_id: int | None = None
) -> int | None:
    """How many of the user's receipts match, or None when the account is gone or inactive:
    `COUNT(*)` written once per shape, read with the account's `is_active`.

    The unread count and the inbox's total are read on every opening of the mini-program, and the
    ORM compiled the same `COUNT(*)` on each (about a third of the unread count's CPU, the request's
    floor included: docs/benchmarks.md). The account's state comes in the same statement, so the
    view's authentication need not read the account first (`DeferredUserJWTAuthentication`).
    tests/notices/test_counts.py holds it to the ORM's count.
    """
    alias = router.db_for_read(NoticeReceipt) or DEFAULT_DB_ALIAS
    shape = (alias, unread, after_id is not None, before_id is not None)
    sql = _COUNT_SQL.get(shape)
    if sql is None:
        quote = connections[alias].ops.quote_name
        receipts, users = quote(NoticeReceipt._meta.db_table), quote(User._meta.db_table)
        where = _receipt_where(alias, "c.", unread=unread, after=after_id is not None, before=before_id is not None)
        # Names from the models, quoted; every value is a parameter.
        sql = _COUNT_SQL[shape] = (
            f"SELECT u.{_column(alias, User, 'is_active')}, "  # noqa: S608
            f"(SELECT COUNT(*) FROM {receipts} AS c WHERE {where}) "
            f"FROM {users} AS u WHERE u.{_column(alias, User, 'id')} = %s"
        )  # nosec B608  # no value is formatted into the text (see above)
    params = [user_id, *(value for value in (after_id, before_id) if value is not None), user_id]
    with statement_cursor(connections[alias]) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[1]) if row is not None and row[0] else None


def unread_count(*, user_id: int) -> int | None:
    """The user's unread notices; None when the account is gone or inactive (see receipt_count)."""
    return receipt_count(user_id=user_id, unread=True)


@dataclass(frozen=True)
class InboxPage:
    results: list[dict[str, Any]]
    count: int  # how many notices match the cursor, over all pages
    has_more: bool
    ascending: bool
    caller_active: bool  # whether the account exists and is active, read with the page


def inbox_page(
    *, user_id: int, after_id: int | None = None, before_id: int | None = None, limit: int = 20
) -> InboxPage:
    """One page of the user's notices.

    Without `after_id`: newest first (optionally only those below `before_id`), for scrolling back.
    With `after_id`: oldest first from just above it (and below `before_id` if given), so paging
    forward with the last id seen never skips a notice.
    """
    read = _inbox_rows(user_id=user_id, after_id=after_id, before_id=before_id, limit=limit + 1, counted=True)
    return InboxPage(
        results=_inbox_payloads(read.rows[:limit]),
        count=read.count,
        has_more=len(read.rows) > limit,
        ascending=after_id is not None,
        caller_active=read.caller_active,
    )


@dataclass(frozen=True)
class _Statement:
    sql: str
    # (column index, the converters the ORM would apply to it, the column they are given)
    converters: tuple[tuple[int, tuple[Callable[[Any, Any, Any], Any], ...], Any], ...]


# The inbox's page as one statement by shape (database, after an id, below an id, with the count).
_PAGE_SQL: dict[tuple[str, bool, bool, bool], _Statement] = {}

# What a page reads for each notice, in the statement's order: (table alias, model, field).
_PAGE_COLUMNS: tuple[tuple[str, type[models.Model], str], ...] = (
    ("r", NoticeReceipt, "notice"),
    ("r", NoticeReceipt, "read_at"),
    ("n", Notice, "title"),
    ("n", Notice, "body"),
    ("n", Notice, "kind"),
    ("n", Notice, "created_at"),
    ("n", Notice, "attachments"),
    ("s", User, "id"),
    ("s", User, "real_name"),
    ("n", Notice, "audience_kind"),
    ("n", Notice, "audience_ids"),
    ("u", User, "is_active"),
)
_ATTACHMENTS = _PAGE_COLUMNS.index(("n", Notice, "attachments"))
_ACTIVE = _PAGE_COLUMNS.index(("u", User, "is_active"))


def _page_statement(alias: str, *, after: bool, before: bool, counted: bool) -> _Statement:
    """The user's row, then their page of receipts (by `notice_id`, oldest first after an id, else
    newest first) limited before the notices and their senders are joined, with the cursor's
    `COUNT(*)` as a scalar subquery (computed once): one statement, compiled once per shape, where
    the ORM compiled two on every request and the account was read before them. No row: no such
    account; one row without a notice: an empty page. Parameters: the count's (if counted), the
    page's, the limit, the user's id."""
    shape = (alias, after, before, counted)
    statement = _PAGE_SQL.get(shape)
    if statement is not None:
        return statement
    connection = connections[alias]
    quote = connection.ops.quote_name
    tables = {model: quote(model._meta.db_table) for model in (NoticeReceipt, Notice, User)}
    r_notice, r_read = _column(alias, NoticeReceipt, "notice"), _column(alias, NoticeReceipt, "read_at")
    user_id = _column(alias, User, "id")
    order = "" if after else " DESC"
    page_where = _receipt_where(alias, "p.", unread=False, after=after, before=before)
    count_where = _receipt_where(alias, "c.", unread=False, after=after, before=before)
    select = ", ".join(f"{table}.{_column(alias, model, name)}" for table, model, name in _PAGE_COLUMNS)
    # Names from the models, quoted; every value is a parameter.
    total = f", (SELECT COUNT(*) FROM {tables[NoticeReceipt]} AS c WHERE {count_where})" if counted else ""  # noqa: S608
    sql = (
        f"SELECT {select}{total} FROM {tables[User]} AS u LEFT JOIN ("  # noqa: S608
        f"SELECT p.{r_notice}, p.{r_read} FROM {tables[NoticeReceipt]} AS p WHERE {page_where} "
        f"ORDER BY p.{r_notice}{order} LIMIT %s) AS r ON 1 = 1 "
        f"LEFT JOIN {tables[Notice]} AS n ON n.{_column(alias, Notice, 'id')} = r.{r_notice} "
        f"LEFT JOIN {tables[User]} AS s ON s.{user_id} = n.{_column(alias, Notice, 'sender')} "
        f"WHERE u.{user_id} = %s ORDER BY r.{r_notice}{order}"
    )  # nosec B608  # no value is formatted into the text (see above)
    converters = []
    for index, (_table, model, name) in enumerate(_PAGE_COLUMNS):
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field):
            raise TypeError(f"{field!r} is not a concrete column")
        col = field.get_col(model._meta.db_table)
        found = tuple(connection.ops.get_db_converters(col) + field.get_db_converters(connection))
        if found:
            converters.append((index, found, col))
    statement = _PAGE_SQL[shape] = _Statement(sql=sql, converters=tuple(converters))
    return statement


@dataclass(frozen=True)
class _InboxRead:
    rows: list[list[Any]]  # in _PAGE_COLUMNS' order, converted as the ORM converts them
    count: int  # how many match the cursor over all pages (0 unless counted)
    caller_active: bool  # False when the account is gone or inactive


def _inbox_rows(
    *, user_id: int, after_id: int | None, before_id: int | None, limit: int, counted: bool = False
) -> _InboxRead:
    """Up to `limit` rows of the user's inbox, the cursor's count and the account's state."""
    alias = router.db_for_read(NoticeReceipt) or DEFAULT_DB_ALIAS
    statement = _page_statement(alias, after=after_id is not None, before=before_id is not None, counted=counted)
    cursor = [user_id, *(value for value in (after_id, before_id) if value is not None)]
    connection = connections[alias]
    with statement_cursor(connection) as db:
        db.execute(statement.sql, [*cursor, *cursor, limit, user_id] if counted else [*cursor, limit, user_id])
        fetched = db.fetchall()
    count = int(fetched[0][len(_PAGE_COLUMNS)]) if counted and fetched else 0
    # A page's JSON texts repeat (`[]`, the community's `[1]`): each is parsed once. The values are
    # only read (`_inbox_payloads` copies the ids), so rows may share them.
    seen: dict[tuple[int, Any], Any] = {}
    rows = []
    for row in fetched:
        if row[0] is None:  # the account's row alone: nothing on this page
            continue
        values = list(row)
        for index, found, col in statement.converters:
            raw = values[index]
            key = (index, raw)
            if key not in seen:
                for converter in found:
                    raw = converter(raw, col, connection)
                seen[key] = raw
            values[index] = seen[key]
        rows.append(values)
    return _InboxRead(rows=rows, count=count, caller_active=bool(fetched and fetched[0][_ACTIVE]))


def _inbox_payloads(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """`notice_payload` for each row of `_inbox_rows`, the upload query and the time zone once a page.
    tests/notices/test_inbox_page.py holds the two to the same output."""
    attachments = _uploads_by_id(pk for row in rows for pk in row[_ATTACHMENTS])
    zone = timezone.get_current_timezone()
    payloads = []
    for notice_id, read_at, title, body, kind, created_at, attached, sender_id, real_name, audience, ids, *_ in rows:
        payloads.append(
            {
                "id": notice_id,
                "title": title,
                "body": body,
                "kind": kind,
                "created_at": None if created_at is None else created_at.astimezone(zone).isoformat(),
                "read_at": None if read_at is None else read_at.astimezone(zone).isoformat(),
                "attachments": [attachments[pk] for pk in attached if pk in attachments],
                "sender": None if sender_id is None else {"id": sender_id, "real_name": real_name},
                # A personal notice does not disclose who else received it (audience_payload).
                "audience": {"kind": audience, "ids": [] if audience == Notice.AudienceKind.USERS else list(ids)},
            }
        )
    return payloads


def receipt_for(*, user_id: int, notice_id: int) -> NoticeReceipt | None:
    return _inbox(user_id).filter(notice_id=notice_id).first()


def can_view_receipts(*, user: User, notice: Notice) -> bool:
    """The sender, and staff whose scope covers the whole audience (the sender's colleagues there).

    A notice to named users shows its receipts to its sender only: their colleagues cannot tell
    whether every recipient lies inside their own scope.
    """
    scope = get_scope(user)
    if scope.is_superuser or (notice.sender_id is not None and notice.sender_id == user.pk):
        return True
    if not scope.is_staff:
        return False
    ids = {int(pk) for pk in notice.audience_ids}
    kind = notice.audience_kind
    if not ids or kind == Notice.AudienceKind.USERS:
        return False
    if kind == Notice.AudienceKind.STREET:
        return ids <= scope.street_ids
    if kind == Notice.AudienceKind.COMMUNITY:
        return ids <= scope.community_ids
    if kind == Notice.AudienceKind.GRID:
        return Grid.objects.filter(pk__in=ids, community_id__in=scope.community_ids).count() == len(ids)
    return all(may_watch(user, "activity", pk) for pk in ids)


def receipts_of(*, notice: Notice, read: bool | None = None) -> QuerySet[NoticeReceipt]:
    """Who received a notice: those who read it first (earliest first), then the rest by id."""
    receipts = NoticeReceipt.objects.filter(notice=notice).select_related("user")
    if read is not None:
        receipts = receipts.filter(read_at__isnull=not read)
    return receipts.order_by(F("read_at").asc(nulls_last=True), "id")


def receipt_totals(*, notice: Notice) -> dict[str, int]:
    receipts = NoticeReceipt.objects.filter(notice=notice)
    total = receipts.count()
    read = receipts.filter(read_at__isnull=False).count()
    return {"total": total, "read": read, "unread": total - read}


def subscription_counts(*, user_id: int) -> dict[str, int]:
    """Messages each configured template may still send the user (one per consent given)."""
    remaining = dict(SubscribeConsent.objects.filter(user_id=user_id).values_list("template_id", "remaining"))
    return {template_id: remaining.get(template_id, 0) for template_id in subscribe.configured_template_ids()}


# --- audiences ------------------------------------------------------------------------------


def _active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True, anonymised_at__isnull=True)


def _active_grants() -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(revoked_at__isnull=True, user__is_active=True, user__anonymised_at__isnull=True)


def _only_active(user_ids: set[int]) -> set[int]:
    ids = sorted(user_ids)
    active: set[int] = set()
    for start in range(0, len(ids), ID_CHUNK):
        active.update(_active_users().filter(pk__in=ids[start : start + ID_CHUNK]).values_list("pk", flat=True))
    return active


def _members_of_places(kind: str, ids: tuple[int, ...]) -> set[int]:
    """Who belongs to these places by what accounts and the map know (the providers add the rest)."""
    if kind == "community":
        residents = Q(community_id__in=ids)
        staff = (
            Q(role__in=STAFF_ROLES, community_id__in=ids)
            | Q(role=Role.STREET_ADMIN, street__communities__id__in=ids)
            | Q(role=Role.GRID_WORKER, grid__community_id__in=ids)
        )
    elif kind == "street":
        residents = Q(community__street_id__in=ids)
        staff = (
            Q(role=Role.STREET_ADMIN, street_id__in=ids)
            | Q(role__in=STAFF_ROLES, community__street_id__in=ids)
            | Q(role=Role.GRID_WORKER, grid__community__street_id__in=ids)
        )
    elif kind == "grid":
        # Users carry a home community, not a grid: a grid's people are its workers and what providers add.
        residents = None
        staff = Q(role=Role.GRID_WORKER, grid_id__in=ids)
    else:
        return set()
    members = set(_active_grants().filter(staff).values_list("user_id", flat=True))
    if residents is not None:
        members.update(_active_users().filter(residents).values_list("pk", flat=True))
    return members


def audience_user_ids(audience: Audience) -> set[int]:
    """Every active user in the audience: the place's own people plus what each app's provider adds."""
    ids = tuple(int(pk) for pk in audience.ids)
    if not ids:
        return set()
    if audience.kind == "users":
        return _only_active(set(ids))
    members = _members_of_places(audience.kind, ids)
    extra = provided_user_ids(audience.kind, ids) - members
    if extra:
        members |= _only_active(extra)
    return members


# Personal data (accounts.registry) ------------------------------------------------------------


def personal_data(user: Any) -> dict[str, Any]:
    """The notices the person received (and when they read them) and their subscribe-message consents."""
    return {
        "notices": rows(
            NoticeReceipt.objects.filter(user=user).order_by("-notice_id"),
            "notice_id",
            "notice__title",
            "notice__body",
            "notice__kind",
            "notice__created_at",
            "read_at",
        ),
        "subscribe_consents": rows(
            SubscribeConsent.objects.filter(user=user).order_by("id"),
            "template_id",
            "remaining",
            "accepted_total",
            "last_accepted_at",
            "last_rejected_at",
        ),
    }
