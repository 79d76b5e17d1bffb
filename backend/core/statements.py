"""Statements written once per process for the busiest reads and inserts.

The ORM compiles a query again on every call: for a read of one row by its key that compiling
costs several times what PostgreSQL spends running it (docs/benchmarks.md). A `ModelRead` is the
same SELECT written once per database, with the converters the ORM would apply to each column
(SQLite's text times and integer booleans), whose rows become model instances through `from_db`,
as the ORM's own do. A `ModelInsert` is the INSERT `save(force_insert=True)` sends, compiled once.

Only names from the models, quoted by the database's own rules, go into the text; every value is
a parameter. Each user of these is held to the ORM's answer by a test.

`cursor(connection)` is where such statements run: on PostgreSQL a cursor that binds parameters
on the server and has each statement prepared once per connection, so that PostgreSQL stops
parsing and planning it on every request (backend/core/postgresql); elsewhere the usual cursor.
Only statements written here and in the selectors' own statement modules go through it: the
ORM's SQL binds on the client, as Django expects (`IN %s`, parameters in GROUP BY).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)
Converter = tuple[int, list[Any], Any]


def cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a statement written once: prepared on the connection where the engine can."""
    prepared_cursor = getattr(connection, "prepared_cursor", None)
    if prepared_cursor is None:
        return connection.cursor()
    return prepared_cursor()


@dataclass(frozen=True)
class Written:
    sql: str
    converters: list[Converter]


class ModelRead(Generic[M]):
    """`SELECT <every column of model>[, extras] …` written once per database.

    `write(columns, quote)` returns the statement's text: `columns` is the model's columns, each
    prefixed with `alias.`, to put first in the select list; `quote` quotes a name. `extras` names
    the columns the statement selects after the model's, in order, each with the function that
    turns the database's value into Python's (bool for an EXISTS, which SQLite answers 0 or 1); the
    instance gets them as attributes.
    """

    def __init__(
        self,
        model: type[M],
        write: Callable[[str, Callable[[str], str]], str],
        *,
        alias: str = "",
        extras: Sequence[tuple[str, Callable[[Any], Any]]] = (),
    ) -> None:
        self.model = model
        self._write = write
        self._alias = alias
        self._extras = tuple(extras)
        self._fields = list(model._meta.concrete_fields)
        self._attnames = [field.attname for field in self._fields]
        self._written: dict[str, Written] = {}

    def _written_for(self, db: str) -> Written:
        written = self._written.get(db)
        if written is None:
            connection = connections[db]
            quote = connection.ops.quote_name
            prefix = f"{self._alias}." if self._alias else ""
            columns = ", ".join(f"{prefix}{quote(str(field.column))}" for field in self._fields)
            converters: list[Converter] = []
            for index, field in enumerate(self._fields):
                column = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
                if found:
                    converters.append((index, found, column))
            written = self._written[db] = Written(self._write(columns, quote), converters)
        return written

    def all(self, params: Sequence[Any]) -> list[M]:
        db = router.db_for_read(self.model) or DEFAULT_DB_ALIAS
        written = self._written_for(db)
        connection = connections[db]
        with cursor(connection) as db_cursor:
            db_cursor.execute(written.sql, params)
            rows = db_cursor.fetchall()
        width = len(self._fields)
        found = []
        for row in rows:
            values = list(row[:width])
            for index, converters, column in written.converters:
                for converter in converters:
                    values[index] = converter(values[index], column, connection)
            instance = self.model.from_db(db, self._attnames, values)
            for (name, cast), value in zip(self._extras, row[width:], strict=True):
                setattr(instance, name, cast(value))
            found.append(instance)
        return found

    def first(self, params: Sequence[Any]) -> M | None:
        rows = self.all(params)
        return rows[0] if rows else None


class ModelInsert(Generic[M]):
    """The INSERT of `instance.save(force_insert=True)`, written once per database.

    Every concrete column but an automatic primary key, each value prepared as the ORM prepares it
    (`pre_save`, then `get_db_prep_save`); the key comes back by `RETURNING`, and the instance is
    then in the state a saved one is in. For models without save() overrides or signal receivers
    that matter to the caller: it sends no `pre_save`/`post_save`. Databases that cannot return
    columns from an INSERT take the ORM's own path.
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        meta = model._meta
        self._fields = [field for field in meta.concrete_fields if not isinstance(field, models.AutoField)]
        self._pk = meta.pk
        self._written: dict[str, str] = {}

    def _sql(self, db: str) -> str:
        sql = self._written.get(db)
        if sql is None:
            quote = connections[db].ops.quote_name
            columns = ", ".join(quote(str(field.column)) for field in self._fields)
            marks = ", ".join(["%s"] * len(self._fields))
            table, pk = quote(self.model._meta.db_table), quote(str(self._pk.column))
            sql = self._written[db] = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608
        return sql

    def save(self, instance: M) -> M:
        db = router.db_for_write(self.model, instance=instance) or DEFAULT_DB_ALIAS
        connection = connections[db]
        if not connection.features.can_return_columns_from_insert:
            instance.save(force_insert=True, using=db)
            return instance
        values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in self._fields]
        with cursor(connection) as db_cursor:
            db_cursor.execute(self._sql(db), values)
            (key,) = db_cursor.fetchone()
        column = self._pk.get_col(self.model._meta.db_table)
        for converter in connection.ops.get_db_converters(column):
            key = converter(key, column, connection)
        instance.pk = key
        instance._state.adding = False
        instance._state.db = db
        return instance
