"""The daily bound on attempts an account makes, counted inside services on the throttles' counter."""

import pytest

from backend.core import attempts
from backend.core.errors import DomainError

from .test_throttling import DownCache


def test_attempts_past_the_bound_are_refused_with_429_per_account():
    for _ in range(3):
        attempts.count_attempt("probe", account_id=1, per_day=3)
    with pytest.raises(DomainError) as refused:
        attempts.count_attempt("probe", account_id=1, per_day=3)
    assert (refused.value.code, refused.value.status) == ("throttled", 429)
    # Another account, or another kind of attempt, has a count of its own.
    attempts.count_attempt("probe", account_id=2, per_day=3)
    attempts.count_attempt("other", account_id=1, per_day=3)


def test_the_id_number_bound_comes_from_the_settings(settings):
    settings.ID_NUMBER_ATTEMPTS_PER_DAY = 1
    attempts.count_id_number_attempt(7)
    with pytest.raises(DomainError) as refused:
        attempts.count_id_number_attempt(7)
    assert refused.value.code == "throttled"


def test_the_cache_down_lets_attempts_through(monkeypatch):
    monkeypatch.setattr(attempts.CounterThrottle, "cache", DownCache())
    for _ in range(5):
        attempts.count_attempt("probe", account_id=3, per_day=1)
