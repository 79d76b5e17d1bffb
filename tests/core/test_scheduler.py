from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.core import scheduler
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_job():
    calls = []
    scheduler.register_job(name="test_counting", every=timedelta(hours=1), enqueue=lambda: calls.append(1))
    yield calls
    scheduler.periodic_jobs.unregister("test_counting")


def test_a_slot_runs_once_even_if_checked_twice(counting_job):
    now = datetime(2026, 7, 1, 8, 10, tzinfo=UTC)
    assert "test_counting" in scheduler.run_due_jobs(now=now)
    assert "test_counting" not in scheduler.run_due_jobs(now=now + timedelta(minutes=20))
    assert counting_job == [1]
    assert "test_counting" in scheduler.run_due_jobs(now=now + timedelta(hours=1))
    assert counting_job == [1, 1]


def test_a_failing_job_is_retried_next_check(counting_job):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("database busy")

    scheduler.register_job(name="test_flaky", every=timedelta(hours=1), enqueue=flaky)
    try:
        now = datetime(2026, 7, 1, 8, 10, tzinfo=UTC)
        assert "test_flaky" not in scheduler.run_due_jobs(now=now)
        assert "test_flaky" in scheduler.run_due_jobs(now=now)
        assert len(attempts) == 2
    finally:
        scheduler.periodic_jobs.unregister("test_flaky")


def test_the_housekeeping_jobs_run(resident):
    token = RefreshToken.for_user(resident)
    OutstandingToken.objects.filter(jti=token["jti"]).update(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    fresh = RefreshToken.for_user(factories.UserFactory())
    call_command("run_scheduler", "--once")
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [fresh["jti"]]


def test_housekeeping_tasks_complete(caplog):
    from django_tasks import TaskResultStatus

    from backend.core.tasks import flush_expired_tokens, prune_task_results

    assert flush_expired_tokens.enqueue().status == TaskResultStatus.SUCCESSFUL
    assert prune_task_results.enqueue().status == TaskResultStatus.SUCCESSFUL
