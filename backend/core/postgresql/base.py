"""Django's PostgreSQL backend, its connection pool checking connections without a round trip."""

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

from backend.core.dbpool import check_idle_connection


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django passes psycopg_pool's check (an empty query) when CONN_HEALTH_CHECKS is on and offers
        # no way to pass another; the pool keeps it in `_check` (tests/core/test_dbpool.py holds this).
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_idle_connection
        return pool
