"""The pool's check finds a dead backend without sending anything to a live one."""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg_pool import ConnectionPool

from backend.core.dbpool import check_idle_connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the connection pool is PostgreSQL's (make test-services)"
)


def connect() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("pool", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db
def test_the_pool_checks_with_it():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    assert connection.pool._check is check_idle_connection


def test_a_live_connection_passes_without_a_query():
    with connect() as conn:
        conn.execute("SELECT 1")
        conn.execute = lambda *args, **kwargs: pytest.fail("the check sent a query")  # type: ignore[method-assign]

        check_idle_connection(conn)

        assert not conn.closed


@pytest.mark.django_db
def test_a_terminated_backend_fails_the_check():
    with connect() as conn, connect() as admin:
        check_idle_connection(conn)
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        deadline = time.monotonic() + 5
        with pytest.raises(psycopg.OperationalError):
            while time.monotonic() < deadline:
                check_idle_connection(conn)
                time.sleep(0.02)


@pytest.mark.django_db
def test_the_pool_replaces_a_terminated_connection_at_once():
    """Discarded, not put back: a dead connection the pool took for a live one would fail every
    later check until the pool's timeout (a request answered 500 after 10 s)."""
    params = connection.get_connection_params()
    params.pop("pool", None)
    pool = ConnectionPool(kwargs=params, min_size=1, max_size=1, check=check_idle_connection, timeout=5)
    with pool, connect() as admin:
        with pool.connection() as conn:
            first = conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", [first])
        time.sleep(0.3)
        began = time.monotonic()
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != first
        assert time.monotonic() - began < 2


def test_a_closed_connection_fails_the_check():
    conn = connect()
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        check_idle_connection(conn)
