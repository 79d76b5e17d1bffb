"""What "nothing changed" means: every table's rows, counted and hashed, and the writes a request sent."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import connection

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _tables() -> list[str]:
    names = {m._meta.db_table for m in apps.get_models(include_auto_created=True) if m._meta.managed}
    existing = set(connection.introspection.table_names())
    return sorted(names & existing)


def row_counts() -> dict[str, int]:
    """All tables' row counts in one query."""
    tables = _tables()
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {quote(t)}" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def checksum() -> dict[str, str]:
    """Each table's rows, ordered and hashed: catches an UPDATE that a count cannot."""
    quote = connection.ops.quote_name
    out: dict[str, str] = {}
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


@contextmanager
def capture_writes() -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements sent while inside, raw SQL included."""
    writes: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if _WRITE.match(sql or ""):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield writes
