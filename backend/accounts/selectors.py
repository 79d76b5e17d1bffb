"""Account reads: the personal-data export (PIPL art. 45: a person may copy what is held about them).

Each app contributes the sections it holds through `registry.personal_data_exporters`; accounts
adds the account itself, its role grants and the files the person uploaded.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from backend.core.statements import ModelRead
from backend.core.statements import cursor as statement_cursor

from .models import RoleGrant, User
from .registry import personal_data_exporters
from .scoping import get_scope, scope_q, visible_communities

EXPORT_FORMAT = "personal-data/1"


def plain(value: Any) -> Any:
    """A value as the API writes it: local times (+08:00), decimals as strings, ids as text."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def rows(queryset: QuerySet[Any], *fields: str) -> list[dict[str, Any]]:
    """The queryset's rows as plain dicts of `fields` (lookups allowed: "community__name"): one query."""
    return [plain(row) for row in queryset.values(*fields)]


def row(instance: Model | None, fields: Iterable[str]) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {name: plain(getattr(instance, name)) for name in fields}


def account_sections(user: User) -> dict[str, Any]:
    from backend.core.models import Upload

    account = row(
        user,
        (
            "id",
            "phone",
            "real_name",
            "nickname",
            "wechat_openid",
            "wechat_unionid",
            "community_id",
            "is_active",
            "date_joined",
            "last_login",
        ),
    )
    assert account is not None
    account["community_name"] = user.community.name if user.community is not None else None
    account["has_password"] = user.has_usable_password()
    return {
        "account": account,
        "roles": rows(
            RoleGrant.objects.filter(user=user).order_by("id"),
            "id",
            "role",
            "street_id",
            "street__name",
            "community_id",
            "community__name",
            "grid_id",
            "grid__name",
            "organization_id",
            "organization__name",
            "created_at",
            "revoked_at",
        ),
        "uploads": rows(
            Upload.objects.filter(owner=user).order_by("id"),
            "id",
            "kind",
            "original_name",
            "content_type",
            "size",
            "created_at",
        ),
    }


def personal_data_export(user: User) -> dict[str, Any]:
    """Everything held about `user`, unmasked, section by section; bounded queries per app."""
    sections: dict[str, Any] = account_sections(user)
    for _app, exporter in personal_data_exporters.items():
        sections.update(exporter(user))
    return {
        "format": EXPORT_FORMAT,
        "exported_at": plain(timezone.now()),
        "user": user.pk,
        "sections": sections,
    }


def active_account(*, user_id: int) -> User | None:
    """The account as stored now, if it may still act; a fresh object, so no grants cached on it."""
    return User.objects.filter(pk=user_id, is_active=True).first()


_ACCOUNT_STATE_SQL: dict[str, str] = {}


def is_active_account(user_id: Any, *, using: str = DEFAULT_DB_ALIAS) -> bool | None:
    """Whether the account may act (what JWT authentication checks on its user); None when there
    is no such account, which authentication answers differently (accounts.authentication). A
    statement written once (prepared on PostgreSQL): a kept leaderboard page reads it on every
    request, the views that leave the account to their own statement before answering a bad query."""
    connection = connections[using]
    sql = _ACCOUNT_STATE_SQL.get(using)
    if sql is None:
        quote, meta = connection.ops.quote_name, User._meta
        sql = _ACCOUNT_STATE_SQL[using] = (
            f"SELECT {quote(str(meta.get_field('is_active').column))} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote(str(meta.pk.column))} = %s"
        )
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, [user_id])
        found = cursor.fetchone()
    return None if found is None else bool(found[0])


def _active_grants_sql(columns: str, quote: Callable[[str], str]) -> str:
    meta = RoleGrant._meta
    column = {field.name: str(field.column) for field in meta.concrete_fields}
    user, revoked = quote(column["user"]), quote(column["revoked_at"])
    return (
        f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {user} = %s AND {revoked} IS NULL ORDER BY {quote(str(meta.pk.column))}"
    )


# `user.role_grants.filter(revoked_at=None)`, written once: every opening of the mini-program reads
# the caller's grants (`auth/users/me`), and the ORM compiled the query again each time.
active_grants_statement = ModelRead(RoleGrant, _active_grants_sql)


def active_grants(user: User) -> list[RoleGrant]:
    """The user's live grants, oldest first (RoleGrant's own order)."""
    return active_grants_statement.all([user.pk])


# The grant's columns `auth/users/me` shows and the scope reads, after the account's in one statement.
_GRANT_EXTRAS = ("id", "role", "street_id", "community_id", "grid_id", "organization_id")


def _account_with_grants_sql(columns: str, quote: Callable[[str], str]) -> str:
    grant = RoleGrant._meta
    column = {field.attname: str(field.column) for field in grant.concrete_fields}
    picked = ", ".join(f"g.{quote(column[name])}" for name in _GRANT_EXTRAS)
    return (
        f"SELECT {columns}, {picked} FROM {quote(User._meta.db_table)} u "  # noqa: S608
        f"LEFT JOIN {quote(grant.db_table)} g ON g.{quote(column['user_id'])} = u.{quote(str(User._meta.pk.column))} "
        f"AND g.{quote(column['revoked_at'])} IS NULL "
        f"WHERE u.{quote(str(User._meta.pk.column))} = %s ORDER BY g.{quote(column['id'])}"
    )


def _same(value: Any) -> Any:
    return value


# The account and its live grants: a row a grant (one with none when there is no grant). For
# `auth/users/me`, which authentication then does not read first (accounts.authentication.
# AccountInStatement): one statement where there were two.
account_with_grants_statement = ModelRead(
    User, _account_with_grants_sql, alias="u", extras=[(f"grant_{name}", _same) for name in _GRANT_EXTRAS]
)


def account_with_grants(user_id: Any) -> tuple[User | None, list[RoleGrant]]:
    """The account (None if there is none) and its live grants, oldest first; each grant holds only
    the columns the scope and `auth/users/me` read."""
    rows = account_with_grants_statement.all([user_id])
    if not rows:
        return None, []
    grants = [
        RoleGrant(**{name: getattr(row, f"grant_{name}") for name in _GRANT_EXTRAS})
        for row in rows
        if row.grant_id is not None  # type: ignore[attr-defined]  # an extra of the statement
    ]
    user = rows[0]
    for name in _GRANT_EXTRAS:
        delattr(user, f"grant_{name}")
    return user, grants


def grants_in_scope(user: User) -> QuerySet[RoleGrant]:
    """The live grants over places `user` acts on (a street, its communities, grids, organisations)."""
    return RoleGrant.objects.filter(revoked_at__isnull=True).filter(
        scope_q(user, street="street", community="community", organization="organization__community")
        | scope_q(user, community="grid__community")
        | scope_q(user, street="organization__street")
    )


def grantable_account(*, granter: User, phone: str) -> User | None:
    """The active account with `phone` that `granter` may see: one living in a community they act on,
    or holding a role there. Anyone else is as unknown as a phone without an account, so granting a
    role is no way to find out who holds a number."""
    accounts = User.objects.filter(phone=phone, is_active=True)
    if not get_scope(granter).is_superuser:
        holders = grants_in_scope(granter).values("user_id")
        accounts = accounts.filter(Q(community__in=visible_communities(granter)) | Q(pk__in=holders))
    return accounts.first()
