"""The scheduled jobs: registered once, enqueueing the tasks that flag overdue and close unrated appeals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.appeals import tasks
from backend.appeals.models import Appeal
from backend.core import scheduler
from tests.appeals.factories import AppealFactory

pytestmark = pytest.mark.django_db


def test_the_jobs_are_registered():
    jobs = {name: provider() for name, provider in scheduler.periodic_jobs.items()}
    assert jobs["appeals.flag_overdue"].every == timedelta(minutes=5)
    assert jobs["appeals.close_unrated"].every == timedelta(days=1)


def test_the_scheduler_runs_them(town):
    now = timezone.now()
    overdue = AppealFactory(community=town.community, urgency="urgent", submitted_at=now - timedelta(hours=3))
    unrated = AppealFactory(
        community=town.community,
        status="resolved",
        submitted_at=now - timedelta(days=20),
        accepted_at=now - timedelta(days=20),
        resolved_at=now - timedelta(days=10),
    )
    ran = scheduler.run_due_jobs(now=now)
    assert {"appeals.flag_overdue", "appeals.close_unrated"} <= set(ran)
    overdue.refresh_from_db()
    assert overdue.respond_overdue and overdue.resolve_overdue
    assert Appeal.objects.get(pk=unrated.pk).status == Appeal.Status.CLOSED


def test_the_tasks_are_safe_to_run_twice(town):
    now = timezone.now()
    AppealFactory(community=town.community, urgency="urgent", submitted_at=now - timedelta(hours=3))
    assert tasks.flag_overdue_appeals.call() == 1
    assert tasks.flag_overdue_appeals.call() == 0
    assert tasks.close_unrated_appeals.call() == 0
