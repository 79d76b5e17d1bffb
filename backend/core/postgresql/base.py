"""Django's PostgreSQL backend, its connection pool checking connections without a round trip, and
a cursor for the hand-written hot statements that PostgreSQL keeps prepared on each connection."""

import datetime
from functools import lru_cache
from typing import Any, cast

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import adapt, errors
from psycopg.abc import Loader
from psycopg.pq import Format
from psycopg_pool import ConnectionPool

from backend.core.dbpool import check_idle_connection

# Django turns prepared statements off on every connection (threshold None) so that transaction
# poolers such as PgBouncer before 1.21 keep working; its own cursors bind parameters on the client
# and never prepare whatever the threshold. Only `PreparingCursor` prepares, and it asks for it on
# each statement, so the threshold never decides anything: it only has to be a number, for psycopg
# refuses to prepare at all on a connection whose threshold is None.
PREPARE_ON_REQUEST = 1_000_000


# psycopg's own `timestamptz` loader: its C one with psycopg[binary], a class that takes no subclass.
_loader = psycopg.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
if _loader is None:  # psycopg registers one for every built-in type
    raise ImproperlyConfigured("psycopg has no timestamptz loader")
PSYCOPG_TIMESTAMPTZ_LOADER: type[Loader] = _loader


class UtcTimestamptzLoader:
    """Makes psycopg's own `timestamptz` loader, for sessions in UTC.

    Django registers a subclass of psycopg's pure-Python loader that parses each time with a
    regular expression and then sets the zone; a page of activities has a hundred times (about
    0.4 ms of the request, docs/benchmarks.md). psycopg's loader answers in the session's zone,
    with `datetime.timezone.utc` for UTC: Django's answer exactly. Registered in its place, this
    class carries the `timezone` that Django's cursors compare before registering a loader of
    their own (create_cursor) and hands psycopg an instance of the C loader.
    """

    format = Format.TEXT
    timezone = datetime.UTC

    def __new__(cls, oid: int, context: Any = None):
        return PSYCOPG_TIMESTAMPTZ_LOADER(oid, context)


@lru_cache
def _utc_adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    # Not a Loader subclass (the C class takes none), but called as one: it returns a Loader.
    adapters.register_loader("timestamptz", cast("type[Loader]", UtcTimestamptzLoader))
    return adapters


# Django defines its cursor classes for psycopg 3 only, so its type stubs do not declare them.
_ServerBindingCursor: Any = base.ServerBindingCursor


class PreparingCursor(_ServerBindingCursor):
    """Binds parameters on the server and prepares each statement on its first run on a connection.

    PostgreSQL then parses and plans it once per connection instead of on every request: for the
    everyday reads' statements that planning cost more than running them (docs/benchmarks.md).
    psycopg keeps up to `prepared_max` (100) statements a connection, the least used deallocated.
    """

    def execute(self, query, params=None, *, prepare=True, binary=None):
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # A prepared statement's run carries no text of its own in psycopg (Django's reading then
        # gives None): the statement as the client-side binding would have sent it, for the query
        # log and the tests' statement counts.
        if isinstance(cursor, PreparingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    @property
    def pool(self):
        pool = super().pool
        # Django passes psycopg_pool's check (an empty query) when CONN_HEALTH_CHECKS is on and offers
        # no way to pass another; the pool keeps it in `_check` (tests/core/test_dbpool.py holds this).
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_idle_connection
        return pool

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("prepare_threshold") is None:
            params["prepare_threshold"] = PREPARE_ON_REQUEST
        # Django sets the session's zone to `timezone_name` on every connection; in UTC (USE_TZ
        # without a zone of the database's own) psycopg's loader gives Django's answer itself.
        if settings.USE_TZ and self.timezone_name == "UTC" and self.timezone == datetime.UTC:
            params["context"] = _utc_adapters(params["context"])
        return params

    def prepared_cursor(self):
        """`cursor()`, but on a `PreparingCursor` (core.statements.cursor chooses it)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparingCursor(self.connection)
            # As create_cursor(): the time-zone loader on the cursor only when the connection's differs.
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]  # Django's own wrapping, undeclared in its stubs
