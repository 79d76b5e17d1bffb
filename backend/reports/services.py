"""The reports reports keeps: generating a unit's 双报告, sending it to the liaisons, the quarterly run.

A report is generated once per unit and period and then frozen: what was sent can be shown again
exactly as it was, whatever was corrected afterwards. Both steps are safe to repeat and to run
from two workers at once (the unique constraint settles generation, a row lock settles sending).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.communities.models import PartyOrganization
from backend.core.errors import field_error
from backend.core.events import Audience
from backend.core.models import Upload
from backend.core.periods import InvalidPeriod, Period, parse_period
from backend.notices.models import Notice
from backend.notices.services import create_notice

from . import exports, selectors
from .models import FeedbackReport

logger = logging.getLogger(__name__)

TITLE_MAX = 100


def report_period(text: str, *, field: str = "period") -> tuple[str, Period]:
    """The canonical label and the bounds of a period a 双报告 may cover (anything but `all`)."""
    try:
        period = parse_period(text)
    except InvalidPeriod as exc:
        raise field_error(field, str(exc)) from None
    if period.is_all:
        raise field_error(field, _("双报告须指定年度、半年、季度或月份"))
    return text.strip().upper(), period


def generate_feedback_report(
    *, organization: PartyOrganization, period: str, now: datetime | None = None
) -> FeedbackReport:
    """The unit's report for the period: the one already kept, else a new one with its workbook."""
    label, bounds = report_period(period)
    existing = FeedbackReport.objects.filter(organization=organization, period=label).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    value = selectors.feedback_report(organization=organization, period=bounds, label=label, now=now)
    data = value.as_data()
    report = FeedbackReport(
        organization=organization,
        period=label,
        period_start=value.start,
        period_end=value.end,
        generated_at=now,
        data=data,
    )
    # Media is served by name, so the name is unguessable; the file is written before the row and
    # removed again if the row cannot be kept.
    report.xlsx.save(f"{secrets.token_hex(16)}.xlsx", ContentFile(exports.feedback_workbook(data)), save=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        report.xlsx.delete(save=False)
        # Another worker kept the same report first: theirs is the one.
        return FeedbackReport.objects.get(organization=organization, period=label)
    return report


def _attachment(report: FeedbackReport) -> Upload:
    """The workbook as an upload of the system's, the form a notice's attachments take."""
    with report.xlsx.open("rb") as handle:
        content = handle.read()
    return Upload.objects.create(
        owner=None,
        kind=Upload.Kind.DOCUMENT,
        file=report.xlsx.name,
        content_type=exports.XLSX_CONTENT_TYPE,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=exports.feedback_filename(report.data),
    )


def _notice_text(report: FeedbackReport) -> tuple[str, str]:
    data = report.data
    summary = data["summary"]
    title = _("%(period)s 双报告: %(organization)s") % {
        "period": report.period,
        "organization": data["organization"]["name"],
    }
    registration, completion = summary["registration_rate"], summary["service_completion_rate"]

    def percent(ratio: dict[str, Any]) -> str:
        return "—" if ratio["rate"] is None else f"{ratio['rate'] * 100:.1f}%"

    body = _(
        "%(organization)s: 本期共有党员 %(members)s 名, 已到社区报到 %(registered)s 名 (报到率 %(registration)s); "
        "达到服务目标 %(met)s 名 (完成率 %(completion)s); 志愿服务 %(hours)s 小时, 完成需求 %(demands)s 件。"
        "您所联系社区的党员明细请在「双报告」中查看。"
    ) % {
        "organization": data["organization"]["name"],
        "members": summary["members"],
        "registered": registration["numerator"],
        "registration": percent(registration),
        "met": completion["numerator"],
        "completion": percent(completion),
        "hours": summary["volunteer_hours"],
        "demands": summary["demands_completed"] + summary["unit_demands_completed"],
    }
    return title[:TITLE_MAX], body


@transaction.atomic
def send_feedback_report(*, report: FeedbackReport) -> FeedbackReport:
    """Send the report to the unit's liaisons as a notice, once; the workbook is kept with the
    report for the staff who see it whole.

    The notice carries the unit's totals and no attachment: the kept workbook holds every
    community's members and the unregistered ones, while a liaison reads only the members of the
    ties they filed (the report's API and export cut it per reader). A unit without a liaison yet
    keeps its report unsent (`sent_at` empty) until it has one.
    """
    report = FeedbackReport.objects.select_for_update().select_related("organization").get(pk=report.pk)
    if report.sent_at is not None:
        return report
    liaisons = selectors.liaison_user_ids(report.organization_id)
    if not liaisons:
        return report
    attachment = report.attachment if report.attachment_id is not None else None
    if attachment is None:
        attachment = report.attachment = _attachment(report)
    title, body = _notice_text(report)
    notice = create_notice(
        sender=None,
        title=title,
        body=body,
        kind=Notice.Kind.REGISTRATION,
        audience=Audience.users(liaisons),
    )
    report.sent_notice = notice
    report.sent_at = timezone.now()
    report.recipient_count = notice.recipient_count
    report.save(update_fields=["attachment", "sent_notice", "sent_at", "recipient_count"])
    return report


def last_finished_quarter(today: date) -> str:
    quarter = (today.month - 1) // 3 + 1
    return f"{today.year - 1}Q4" if quarter == 1 else f"{today.year}Q{quarter - 1}"


def produce_quarterly_reports(*, today: date | None = None) -> int:
    """Generate and send the last finished quarter's report of every unit that lacks it.

    `today` is the Asia/Shanghai date. Safe to run any number of times: a unit whose report is
    generated and sent is not looked at again. Returns how many reports went out in this run.
    """
    label = last_finished_quarter(today or timezone.localdate())
    sent = 0
    for organization in selectors.organizations_needing_report(label):
        try:
            report = generate_feedback_report(organization=organization, period=label)
            if report.sent_at is None and send_feedback_report(report=report).sent_at is not None:
                sent += 1
        except Exception:
            # One unit's failure must not hold back the others; the next run tries it again.
            logger.exception("feedback report %s for organisation %s failed", label, organization.pk)
    return sent
