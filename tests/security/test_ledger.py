"""The hours ledger under many more state-machine runs, and under concurrent retries on PostgreSQL.

The machine (tests/volunteers/ledger_machine.py) checks after every step that totals equal the
ledger, certificates keep their hours and nothing is counted twice. The concurrent check
(tests/volunteers/ledger_concurrency.py) needs PostgreSQL: `make test-security` runs it a second
time on the machine's PostgreSQL when one answers (make test-services runs it too, without the figure).
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.volunteers.ledger_concurrency import run_concurrent_retries
from tests.volunteers.ledger_machine import run_ledger_machine

pytestmark = pytest.mark.security

# The CI leg's fuzzing setting scales the machine too (`make test-security-full` raises it).
EXAMPLES = max(40, 10 * int(os.environ.get("SECURITY_FUZZ_EXAMPLES", "2")))
STEPS = 40


def test_hours_ledger_state_machine(db, figures):
    stats = run_ledger_machine(max_examples=EXAMPLES, steps=STEPS)
    assert stats.runs >= EXAMPLES
    figures["hours ledger"] = (
        f"{stats.steps} steps over {stats.runs} runs ({stats.retries} retries, {stats.corrections} corrections, "
        f"{stats.certificates} certificates, {stats.refusals} refusals as expected), 0 lost, 0 doubled"
    )


@pytest.mark.django_db(transaction=True)
def test_hours_under_concurrent_retries(figures):
    if connection.vendor != "postgresql":
        pytest.skip("threads need a database that takes concurrent writers; run with a PostgreSQL DATABASE_URL")
    figures["hours lost or doubled under concurrent retries"] = run_concurrent_retries()
