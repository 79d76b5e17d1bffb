"""The quarterly 双报告: generated once per unit and quarter, sent once to the liaisons with the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.core.errors import DomainError
from backend.core.models import Upload
from backend.core.scheduler import periodic_jobs
from backend.members.models import UnitRegistration
from backend.notices.models import Notice, NoticeReceipt
from backend.reports import selectors, services, tasks
from backend.reports.models import FeedbackReport
from tests import factories

from .factories import at, volunteer_hours

pytestmark = pytest.mark.django_db

APRIL_FIRST = dt.date(2025, 4, 1)


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "reports"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    "today,label",
    [
        (dt.date(2025, 1, 1), "2024Q4"),
        (dt.date(2025, 3, 31), "2024Q4"),
        (dt.date(2025, 4, 1), "2025Q1"),
        (dt.date(2025, 7, 15), "2025Q2"),
        (dt.date(2025, 12, 31), "2025Q3"),
    ],
)
def test_the_last_finished_quarter(today, label):
    assert services.last_finished_quarter(today) == label


def test_run_twice_each_report_once(town):
    assert services.produce_quarterly_reports(today=APRIL_FIRST) == 1
    assert services.produce_quarterly_reports(today=APRIL_FIRST) == 0
    # U1 (members) and U2 (a member and a registration); U3 only has a refused filing.
    reports = FeedbackReport.objects.order_by("organization_id")
    assert [(r.organization_id, r.period) for r in reports] == [(town.u1.pk, "2025Q1"), (town.u2.pk, "2025Q1")]
    u1, u2 = reports
    assert u1.sent_at is not None and u1.recipient_count == 1
    assert u2.sent_at is None  # no liaison yet
    notices = Notice.objects.all()
    assert notices.count() == 1
    notice = notices.get()
    assert u1.sent_notice_id == notice.pk
    assert notice.sender_id is None and notice.kind == Notice.Kind.REGISTRATION
    assert notice.title == "2025Q1 双报告: 市财政局机关党支部"
    assert "本期共有党员 4 名, 已到社区报到 3 名 (报到率 75.0%)" in notice.body
    assert list(NoticeReceipt.objects.values_list("user_id", flat=True)) == [town.liaison.pk]
    assert len(stored_files()) == 2


def test_the_workbook_is_kept_with_the_report_not_sent_to_liaisons(town):
    # The kept workbook has every community's members; a liaison reads only their own ties' cut.
    services.produce_quarterly_reports(today=APRIL_FIRST)
    report = FeedbackReport.objects.get(organization=town.u1)
    assert Notice.objects.get().attachments == []
    assert "双报告" in Notice.objects.get().body
    upload = Upload.objects.get(pk=report.attachment_id)
    assert upload.owner_id is None and upload.kind == Upload.Kind.DOCUMENT
    assert upload.file.name == report.xlsx.name
    assert upload.original_name == "双报告-市财政局机关党支部-2025Q1.xlsx"
    assert upload.size == report.xlsx.size
    with report.xlsx.open("rb") as handle:
        book = load_workbook(handle)
    assert book.sheetnames == ["汇总", "A社区", "B社区", "未报到"]
    assert book["汇总"]["B3"].value == 4
    assert report.data["summary"]["registration_rate"]["numerator"] == 3


def test_a_liaison_appointed_later_gets_the_report_on_the_next_run(town):
    services.produce_quarterly_reports(today=APRIL_FIRST)
    factories.grant(town.liaison_u2, Role.UNIT_LIAISON, town.u2)
    # A grant alone (by hand) reaches none of the unit's members: nothing is sent to it.
    assert services.produce_quarterly_reports(today=APRIL_FIRST) == 0
    # U2's tie with B is the new liaison's own.
    UnitRegistration.objects.filter(organization=town.u2, community=town.b).update(filed_by=town.liaison_u2)
    assert services.produce_quarterly_reports(today=APRIL_FIRST) == 1
    assert services.produce_quarterly_reports(today=APRIL_FIRST) == 0
    assert FeedbackReport.objects.count() == 2
    assert Notice.objects.count() == 2
    u2 = FeedbackReport.objects.get(organization=town.u2)
    assert list(NoticeReceipt.objects.filter(notice=u2.sent_notice).values_list("user_id", flat=True)) == [
        town.liaison_u2.pk
    ]


def test_the_kept_report_does_not_change(town):
    report = services.generate_feedback_report(organization=town.u1, period="2025Q1")
    volunteer_hours(town.m7.user, town.a, started_at=at(2025, 3, 2), hours=20, approved_by=town.staff_a)
    again = services.generate_feedback_report(organization=town.u1, period="2025q1")
    assert again.pk == report.pk
    assert again.data == report.data
    assert again.data["summary"]["volunteer_hours"] == "17.00"
    assert len(stored_files()) == 1


def test_a_report_is_sent_once(town):
    report = services.generate_feedback_report(organization=town.u1, period="2025Q1")
    first = services.send_feedback_report(report=report)
    second = services.send_feedback_report(report=report)
    assert first.sent_notice_id == second.sent_notice_id
    assert Notice.objects.count() == 1 and Upload.objects.count() == 1


def test_another_worker_generating_first_wins(town, monkeypatch):
    real = selectors.feedback_report
    theirs = {}

    def racing(**kwargs):
        data = real(**kwargs)
        # Another worker keeps the same report while this one is still writing its file.
        theirs["report"] = FeedbackReport.objects.create(
            organization=town.u1,
            period="2025Q1",
            period_start=data.start,
            period_end=data.end,
            data={"from": "the other worker"},
            xlsx="reports/feedback/2025/theirs.xlsx",
        )
        return data

    monkeypatch.setattr(selectors, "feedback_report", racing)
    report = services.generate_feedback_report(organization=town.u1, period="2025Q1")
    assert report.pk == theirs["report"].pk
    assert FeedbackReport.objects.count() == 1
    assert stored_files() == []  # our file went with our row


@pytest.mark.parametrize("period", ["all", "2025Q9", ""])
def test_a_report_needs_a_bounded_period(town, period):
    with pytest.raises(DomainError) as caught:
        services.generate_feedback_report(organization=town.u1, period=period)
    assert caught.value.code == "validation_error" and "period" in caught.value.fields
    assert FeedbackReport.objects.count() == 0


def test_the_task_and_its_schedule(town, monkeypatch):
    assert "reports.quarterly_feedback" in dict(periodic_jobs.items())
    monkeypatch.setattr(services.timezone, "localdate", lambda *args: APRIL_FIRST)
    tasks.produce_quarterly_feedback_reports.enqueue()
    assert FeedbackReport.objects.filter(period="2025Q1").count() == 2


def test_one_units_failure_does_not_stop_the_others(town, monkeypatch):
    real = services.generate_feedback_report

    def failing(*, organization, period, now=None):
        if organization == town.u1:
            raise RuntimeError("disk full")
        return real(organization=organization, period=period, now=now)

    monkeypatch.setattr(services, "generate_feedback_report", failing)
    services.produce_quarterly_reports(today=APRIL_FIRST)
    assert list(FeedbackReport.objects.values_list("organization_id", flat=True)) == [town.u2.pk]
