"""A statement written once, its columns read as the ORM reads them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.expressions import Col

from backend.core.statements import cursor as statement_cursor

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class Statement:
    """SQL text fixed when the module loads, and for each column the model field it reads (None:
    a value taken as the driver gives it, an id, a text or a sum of integers).

    The ORM compiles a query again on every request, which on `members/me` cost more than reading
    the rows. A field's converters are the ones the ORM would apply to it (SQLite's text times and
    dates, its integer booleans; none on PostgreSQL), worked out once per database connection.
    """

    def __init__(self, sql: str, columns: Sequence[Field[Any, Any] | None]) -> None:
        self.sql = sql
        self._columns = tuple(columns)
        self._converters: dict[str, list[tuple[int, list[Converter], Col]]] = {}

    def _converters_for(self, db: BaseDatabaseWrapper) -> list[tuple[int, list[Converter], Col]]:
        found = self._converters.get(db.alias)
        if found is None:
            found = []
            for index, field in enumerate(self._columns):
                if field is None:
                    continue
                column = field.get_col(field.model._meta.db_table)
                converters = db.ops.get_db_converters(column) + field.get_db_converters(db)
                if converters:
                    found.append((index, converters, column))
            self._converters[db.alias] = found
        return found

    def rows(self, params: Sequence[Any]) -> list[list[Any]]:
        converters = self._converters_for(connection)
        with statement_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        read = []
        for row in rows:
            values = list(row)
            for index, found, column in converters:
                value = values[index]
                for convert in found:
                    value = convert(value, column, connection)
                values[index] = value
            read.append(values)
        return read
