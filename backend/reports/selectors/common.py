"""What every report shares: the constants, the ratio with a reason for an unknown denominator,
grouped counts and the months of a period.

The reports are typed values, frozen dataclasses, that the serializers in reports/serializers.py
render: each answer and its schema come from one definition, the serializer, and a value is never
a dict built by hand beside it. Dataclasses rather than TypedDicts because the values carry
behaviour the figures need (a coverage sums with another, a target says whether hours meet it, a
line counts its services) and because several hold model rows (a community, a brand, a plan) that
the serializers read field by field; frozen, so a value handed to a serializer, an export or a
cache is the value the selector computed. `as_data()` on a value is that rendering, for the
callers outside the API (the console, the kept 双报告).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone

from backend.activities.models import Activity
from backend.appeals.selectors import Ratio
from backend.core.periods import Period
from backend.members.models import Demand, MemberRegistration, UnitRegistration
from backend.volunteers.models import ServiceRecord

APPROVED = MemberRegistration.Status.APPROVED
UNIT_APPROVED = UnitRegistration.Status.APPROVED
RECORD_APPROVED = ServiceRecord.Status.APPROVED
DEMAND_COMPLETED = (Demand.Status.DONE, Demand.Status.CONFIRMED)
# Activities that took place (or are taking place): drafts and cancelled ones never happened.
HELD_STATUSES = (Activity.Status.PUBLISHED, Activity.Status.FINISHED)
ZERO_HOURS = Decimal("0.00")
UNREGISTERED = "未报到"


def hours(value: Decimal | int | None) -> Decimal:
    """Hours as every report gives them: a decimal with two places (0.00 for nothing)."""
    return Decimal(value or 0).quantize(ZERO_HOURS)


@dataclass(frozen=True)
class Unknown:
    """Why a rate's denominator is 0, said instead of 0/0 (API `unknown`, the console beside the rate)."""

    code: str
    detail: str


MEMBERS_UNKNOWN = Unknown(
    "no_known_members",
    "尚无已知居住于此的党员: 没有待审核或已通过的报到, 也没有以此为居住社区的已报到党员",
)
UNITS_UNKNOWN = Unknown("no_units_filed", "尚无单位申请共建报到, 应报到单位数未知")


@dataclass(frozen=True)
class MembershipRatio:
    """A 双报到 rate: the ratio, and `unknown` saying why when its denominator is 0."""

    ratio: Ratio
    reason: Unknown

    @property
    def numerator(self) -> int:
        return self.ratio.numerator

    @property
    def denominator(self) -> int:
        return self.ratio.denominator

    @property
    def rate(self) -> float | None:
        return self.ratio.rate

    @property
    def unknown(self) -> Unknown | None:
        return None if self.ratio.denominator else self.reason

    def __add__(self, other: MembershipRatio) -> MembershipRatio:
        return MembershipRatio(add(self.ratio, other.ratio), self.reason)


def add(a: Ratio, b: Ratio) -> Ratio:
    return Ratio(a.numerator + b.numerator, a.denominator + b.denominator)


def counts(queryset: QuerySet[Any], key: str, **aggregates: Any) -> dict[int, dict[str, Any]]:
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


def month_key(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{moment.year:04d}-{moment.month:02d}"


def bounds(period: Period) -> tuple[datetime, datetime]:
    """A bounded period's start and (exclusive) end."""
    if period.start is None or period.end is None:
        raise ValueError("a bounded period is needed (2026, 2026H1, 2026Q3 or 2026-03), not all")
    return period.start, period.end


def pk(row: Model) -> int:
    """A saved row's id, typed (django-stubs types `pk` as Any)."""
    return int(row.pk)
