"""The statements written once are prepared on PostgreSQL's connections; the ORM's never are."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.authentication import account_statement
from backend.core import statements

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's (make test-services)"
)


def prepared() -> list[str]:
    """The statements prepared on this connection, as PostgreSQL lists them (`$1` for parameters)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@on_postgresql
@pytest.mark.django_db
def test_a_written_statement_is_prepared_once_per_connection(resident):
    before = prepared()

    first = account_statement.first([resident.pk])
    after_first = prepared()
    again = account_statement.first([resident.pk])

    assert (first.pk, again.pk) == (resident.pk, resident.pk)
    new = [text for text in after_first if text not in before]
    assert len(new) == 1 and '"accounts_user"' in new[0] and "$1" in new[0], new
    assert prepared() == after_first  # run again from the one already prepared


@on_postgresql
@pytest.mark.django_db
def test_the_orm_and_the_usual_cursor_never_prepare(resident):
    before = prepared()
    for _ in range(10):
        assert get_user_model().objects.filter(pk=resident.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)

    assert prepared() == before


@on_postgresql
@pytest.mark.django_db
def test_a_prepared_run_is_logged_with_its_values(resident):
    account_statement.first([resident.pk])  # prepared now: the run below sends no text of its own
    with CaptureQueriesContext(connection) as queries:
        account_statement.first([resident.pk])

    (logged,) = queries.captured_queries
    assert '"accounts_user"' in logged["sql"]
    assert logged["sql"].rstrip().endswith(f"= {resident.pk}"), logged["sql"]


@on_postgresql
@pytest.mark.django_db
def test_a_prepared_statement_reads_what_is_there_now(resident):
    account_statement.first([resident.pk])
    get_user_model().objects.filter(pk=resident.pk).update(is_active=False)

    assert account_statement.first([resident.pk]).is_active is False
    assert account_statement.first([resident.pk + 1000]) is None


@on_postgresql
@pytest.mark.django_db
def test_a_failed_prepared_run_leaves_the_connection_usable(resident):
    with pytest.raises(DataError), transaction.atomic(), statements.cursor(connection) as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    assert account_statement.first([resident.pk]).pk == resident.pk


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other engines' path")
@pytest.mark.django_db
def test_elsewhere_the_usual_cursor_runs_them(resident):
    assert not hasattr(connection, "prepared_cursor")
    with statements.cursor(connection) as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert account_statement.first([resident.pk]).pk == resident.pk
