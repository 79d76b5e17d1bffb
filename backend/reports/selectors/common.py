"""What every report shares: the constants, the wire formats of hours, times and ratios, grouped counts and months."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from backend.activities.models import Activity
from backend.appeals.selectors import Ratio
from backend.core.periods import Period
from backend.members.models import (
    Demand,
    MemberRegistration,
    UnitRegistration,
)
from backend.volunteers.models import ServiceRecord

APPROVED = MemberRegistration.Status.APPROVED
UNIT_APPROVED = UnitRegistration.Status.APPROVED
RECORD_APPROVED = ServiceRecord.Status.APPROVED
DEMAND_COMPLETED = (Demand.Status.DONE, Demand.Status.CONFIRMED)
# Activities that took place (or are taking place): drafts and cancelled ones never happened.
HELD_STATUSES = (Activity.Status.PUBLISHED, Activity.Status.FINISHED)
ZERO_HOURS = Decimal("0.00")
UNREGISTERED = "未报到"


def hours_text(value: Decimal | None) -> str:
    """Hours on the wire: a decimal string with two places, as every other hours field."""
    return f"{(value or ZERO_HOURS).quantize(ZERO_HOURS)}"


def iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment is not None else None


def ratio_data(ratio: Ratio) -> dict[str, Any]:
    return {"numerator": ratio.numerator, "denominator": ratio.denominator, "rate": ratio.rate}


# Why a 双报到 rate has no denominator: said instead of 0/0 (API `unknown`, the console beside the rate).
MEMBERS_UNKNOWN = (
    "no_known_members",
    "尚无已知居住于此的党员: 没有待审核或已通过的报到, 也没有以此为居住社区的已报到党员",
)
UNITS_UNKNOWN = ("no_units_filed", "尚无单位申请共建报到, 应报到单位数未知")


def membership_ratio_data(ratio: Ratio, unknown: tuple[str, str]) -> dict[str, Any]:
    """A 双报到 rate: the ratio, and `unknown` {code, detail} saying why when its denominator is 0."""
    code, detail = unknown
    return {**ratio_data(ratio), "unknown": {"code": code, "detail": detail} if not ratio.denominator else None}


def _add(a: Ratio, b: Ratio) -> Ratio:
    return Ratio(a.numerator + b.numerator, a.denominator + b.denominator)


def _counts(queryset: QuerySet, key: str, **aggregates: Any) -> dict[int, dict[str, Any]]:
    """One grouped query: key value → the aggregates."""
    rows = queryset.order_by().values(key).annotate(**aggregates)
    return {row[key]: row for row in rows}


def month_starts(period: Period) -> list[date]:
    """The first day of each month the period covers (periods start and end on month boundaries).

    Reports and dashboards measure bounded periods only: `all` has no months to count.
    """
    if period.start is None or period.end is None:
        raise ValueError("a bounded period is needed (2026, 2026H1, 2026Q3 or 2026-03), not all")
    start, end = timezone.localtime(period.start), timezone.localtime(period.end)
    months = (end.year - start.year) * 12 + end.month - start.month
    return [date(start.year + (start.month - 1 + n) // 12, (start.month - 1 + n) % 12 + 1, 1) for n in range(months)]


def _month_key(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{moment.year:04d}-{moment.month:02d}"
