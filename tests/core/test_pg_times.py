"""Times from PostgreSQL are read by psycopg's own loader, with Django's answer."""

import datetime

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from backend.core.postgresql.base import PSYCOPG_TIMESTAMPTZ_LOADER, UtcTimestamptzLoader

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loader (make test-services)"),
    pytest.mark.django_db,
]

TIMES = [
    "2026-12-07 17:30:00.123456+08",
    "2026-03-29 01:59:59.999999+00",
    "1970-01-01 00:00:00+00",
    "1900-01-01 08:05:43+08:05:43",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def read(register_django_loader: bool) -> list[datetime.datetime]:
    with connection.cursor() as cursor:
        if register_django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT unnest(%s::timestamptz[])", [TIMES])
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_reads_times_with_psycopgs_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)

    assert loader is UtcTimestamptzLoader
    # psycopg's C loader where psycopg has its C implementation, as it has here.
    assert psycopg.pq.__impl__ in {"c", "binary"}
    made = loader(1184, connection.connection)
    assert type(made) is PSYCOPG_TIMESTAMPTZ_LOADER
    assert type(made).__module__.startswith(("psycopg_binary", "psycopg_c"))


def test_every_time_reads_as_djangos_loader_reads_it():
    ours, django = read(register_django_loader=False), read(register_django_loader=True)

    assert ours == django
    assert [value.isoformat() for value in ours] == [value.isoformat() for value in django]
    assert all(value.tzinfo is datetime.UTC for value in ours)


def test_times_through_the_prepared_cursor_too(resident):
    from backend.accounts.authentication import account_statement

    account = account_statement.first([resident.pk])

    assert account.date_joined == type(resident).objects.get(pk=resident.pk).date_joined
    assert account.date_joined.tzinfo is datetime.UTC
