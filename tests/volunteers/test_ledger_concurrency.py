"""Concurrent retries of the hours ledger's writes on PostgreSQL (tests/volunteers/ledger_concurrency.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.volunteers.ledger_concurrency import run_concurrent_retries

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite lets one writer in at a time, so there is no race to lose; run with a PostgreSQL DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_retries_neither_lose_nor_double_hours():
    assert run_concurrent_retries().startswith("0 lost, 0 doubled")
