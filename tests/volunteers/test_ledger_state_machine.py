"""The hours ledger as a state machine (tests/volunteers/ledger_machine.py): a few runs in `make test`.

`make test-security` runs many more (tests/security/test_ledger.py), with the concurrent retries.
"""

from __future__ import annotations

import pytest

from tests.volunteers.ledger_machine import run_ledger_machine

pytestmark = pytest.mark.django_db


def test_totals_certificates_and_retries_agree_with_the_ledger():
    stats = run_ledger_machine(max_examples=10, steps=30)
    assert stats.runs >= 10 and stats.steps > 0
