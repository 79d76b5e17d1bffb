"""Plan reminders: 14, 7 and 1 days before and on the day a plan falls overdue, in Shanghai days, once each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from backend.accounts.models import Role
from backend.brands import services
from backend.brands.models import PlanReminder
from backend.core import scheduler
from tests import factories

from .factories import BrandFactory, PlanFactory, deadline_for

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 7, 1)


@pytest.fixture
def july(street, community):
    return deadline_for(street, [community], DUE, title="七一前")


def run(today: dt.date, capture) -> int:
    with capture(execute=True):
        return services.send_due_reminders(today=today)


def reminders(captured_events) -> list[tuple[str, int]]:
    return [
        (data["kind"], data["days_left"]) for name, data, _audience in captured_events if name == "brand_plan.reminder"
    ]


def test_each_reminder_goes_once_to_the_communitys_staff(
    july, secretary, staff, street_admin, other_staff, captured_events, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert run(DUE - dt.timedelta(days=14), capture) == 1
    assert run(DUE - dt.timedelta(days=14), capture) == 0
    assert reminders(captured_events) == [("d14", 14)]
    _name, data, audience = captured_events[0]
    assert audience.kind == "users"
    assert set(audience.ids) == {secretary.pk, staff.pk}
    assert data["due_date"] == "2026-07-01"
    assert data["community"] == july.communities.get().pk
    assert "2026年7月1日" in data["body"]
    row = PlanReminder.objects.get()
    assert (row.kind, row.recipient_count, row.due_date) == ("d14", 2, DUE)


def test_each_reminder_is_kept_as_a_notice_in_the_staffs_inbox(
    july, secretary, staff, other_staff, captured_events, django_capture_on_commit_callbacks, as_user
):
    from backend.notices.models import Notice

    assert run(DUE - dt.timedelta(days=7), django_capture_on_commit_callbacks) == 1
    assert run(DUE - dt.timedelta(days=7), django_capture_on_commit_callbacks) == 0
    notice = Notice.objects.get()
    assert (notice.kind, notice.sender_id) == ("brand", None)
    assert "2026年7月1日" in notice.body
    # Read later, by someone who was offline when it ran; nobody else has it.
    inbox = as_user(secretary).get("/api/v1/notices/").json()["results"]
    assert [row["id"] for row in inbox] == [notice.pk]
    assert as_user(other_staff).get("/api/v1/notices/").json()["results"] == []


def test_a_month_of_runs_twice_a_day_sends_each_kind_once(
    july, secretary, captured_events, django_capture_on_commit_callbacks
):
    day = DUE - dt.timedelta(days=20)
    while day <= DUE + dt.timedelta(days=10):
        run(day, django_capture_on_commit_callbacks)
        run(day, django_capture_on_commit_callbacks)
        day += dt.timedelta(days=1)
    assert reminders(captured_events) == [("d14", 14), ("d7", 7), ("d1", 1), ("overdue", -1)]
    assert sorted(PlanReminder.objects.values_list("kind", flat=True)) == ["d1", "d14", "d7", "overdue"]


def test_a_deadline_set_late_still_gets_its_reminder(
    july, secretary, captured_events, django_capture_on_commit_callbacks
):
    run(DUE - dt.timedelta(days=10), django_capture_on_commit_callbacks)
    run(DUE - dt.timedelta(days=9), django_capture_on_commit_callbacks)
    run(DUE - dt.timedelta(days=5), django_capture_on_commit_callbacks)
    assert reminders(captured_events) == [("d14", 10), ("d7", 5)]


def test_old_deadlines_do_not_wake_up(july, secretary, captured_events, django_capture_on_commit_callbacks):
    assert run(DUE + dt.timedelta(days=8), django_capture_on_commit_callbacks) == 0
    assert run(DUE - dt.timedelta(days=15), django_capture_on_commit_callbacks) == 0
    assert captured_events == []


def test_a_handed_in_plan_stops_the_reminders(
    july, community, secretary, captured_events, django_capture_on_commit_callbacks
):
    brand = BrandFactory(community=community)
    plan = PlanFactory(brand=brand, year=DUE.year, submitted=True)
    assert run(DUE - dt.timedelta(days=7), django_capture_on_commit_callbacks) == 0
    # Returned for changes and not yet handed in again: the reminders resume.
    plan.status = "returned"
    plan.reviewed_at = plan.submitted_at
    plan.save()
    assert run(DUE - dt.timedelta(days=1), django_capture_on_commit_callbacks) == 1
    assert reminders(captured_events) == [("d1", 1)]


def test_last_years_plan_does_not_meet_this_years_deadline(
    july, community, secretary, captured_events, django_capture_on_commit_callbacks
):
    PlanFactory(brand=BrandFactory(community=community), year=DUE.year - 1, approved=True)
    assert run(DUE - dt.timedelta(days=1), django_capture_on_commit_callbacks) == 1


def test_no_staff_no_reminder_until_someone_is_appointed(
    july, community, captured_events, django_capture_on_commit_callbacks
):
    assert run(DUE - dt.timedelta(days=7), django_capture_on_commit_callbacks) == 0
    assert not PlanReminder.objects.exists()
    factories.staff_of(community, Role.COMMUNITY_STAFF)
    assert run(DUE - dt.timedelta(days=6), django_capture_on_commit_callbacks) == 1
    assert reminders(captured_events) == [("d7", 6)]


def test_moving_the_deadline_starts_a_new_countdown(
    july, secretary, captured_events, django_capture_on_commit_callbacks
):
    run(DUE - dt.timedelta(days=1), django_capture_on_commit_callbacks)
    july.due_date = DUE + dt.timedelta(days=14)
    july.save()
    run(DUE, django_capture_on_commit_callbacks)
    assert reminders(captured_events) == [("d1", 1), ("d14", 14)]


def test_nothing_is_announced_if_the_run_rolls_back(
    july, secretary, captured_events, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert services.send_due_reminders(today=DUE - dt.timedelta(days=1)) == 1
        raise RuntimeError("worker died")
    assert callbacks == []
    assert captured_events == []
    assert not PlanReminder.objects.exists()


def test_the_scheduled_job_uses_the_shanghai_date(
    july, secretary, captured_events, clock, django_capture_on_commit_callbacks
):
    # 16:30 UTC on 07-01 is 00:30 on 07-02 in Shanghai: the plan has just fallen overdue.
    moment = dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC)
    clock(moment)
    with django_capture_on_commit_callbacks(execute=True):
        assert "brand_plan_reminders" in scheduler.run_due_jobs(now=moment)
    # A second scheduler in the same slot claims nothing; a later slot runs the job again, which sends nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        assert "brand_plan_reminders" not in scheduler.run_due_jobs(now=moment)
        later = moment + dt.timedelta(hours=1)
        clock(later)
        assert "brand_plan_reminders" in scheduler.run_due_jobs(now=later)
    cache.clear()
    assert reminders(captured_events) == [("overdue", -1)]
    assert list(PlanReminder.objects.values_list("kind", flat=True)) == ["overdue"]


def test_late_on_the_due_day_in_shanghai_is_not_yet_overdue(
    july, secretary, captured_events, clock, django_capture_on_commit_callbacks
):
    moment = dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)  # 23:30 on 07-01 in Shanghai
    clock(moment)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due_jobs(now=moment)
    assert reminders(captured_events) == [("d1", 0)]


def test_the_task_reports_how_many_it_sent(july, secretary, clock):
    from django_tasks import TaskResultStatus

    from backend.brands.tasks import send_plan_reminders

    clock(dt.datetime(2026, 6, 30, 1, 0, tzinfo=dt.UTC))
    result = send_plan_reminders.enqueue()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    assert send_plan_reminders.enqueue().return_value == 0


def test_reminder_kinds_by_days_left():
    expected = {
        15: None,
        14: "d14",
        8: "d14",
        7: "d7",
        2: "d7",
        1: "d1",
        0: "d1",
        -1: "overdue",
        -7: "overdue",
        -8: None,
    }
    assert {days: services.reminder_kind(days_left=days) for days in expected} == expected
