"""Periods as the API writes them: `2026`, `2026H1`, `2026Q3`, `2026-03`, `all`.

A period is the half-open interval [start, end) of aware datetimes in the server's zone
(Asia/Shanghai): something stamped at 23:30 on 31 March Beijing time belongs to March although
it is still the 31st in UTC, and 00:30 on 1 April belongs to April although UTC says 31 March.
`all` has no bounds (both None).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone

ALL = "all"
# The years a period may name. Before 1900 the zone database answers Shanghai's local mean time
# (+08:05:43) and the bounds come out odd; nothing this service holds is older than 2000 or will
# be asked about after 2100.
FIRST_YEAR, LAST_YEAR = 2000, 2100

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|-(?P<month>\d{2}))?$", re.ASCII)


class InvalidPeriod(ValueError):
    """The text is not one of the period forms; the message says which forms are accepted."""


class Period(NamedTuple):
    start: datetime | None
    end: datetime | None

    @property
    def is_all(self) -> bool:
        return self.start is None and self.end is None

    def q(self, field: str) -> Q:
        """Rows whose `field` (a datetime) falls inside the period."""
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{field}__lt": self.end})
        return q

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    def dates(self) -> tuple[date | None, date | None]:
        """The same interval as calendar dates [first day, day after the last), for date fields.

        The bounds are midnights in the zone they were parsed in, so their own date is the local one.
        """
        return (
            self.start.date() if self.start is not None else None,
            self.end.date() if self.end is not None else None,
        )


def _month_start(year: int, month: int, zone: tzinfo) -> datetime:
    if month > 12:
        year, month = year + 1, month - 12
    return datetime.combine(date(year, month, 1), time.min, tzinfo=zone)


def parse_period(value: str, *, zone: tzinfo | None = None) -> Period:
    """The [start, end) of a period written as the API writes it; InvalidPeriod for anything else."""
    text = (value or "").strip()
    if text.lower() == ALL:
        return Period(None, None)
    match = _PATTERN.match(text.upper())
    if match is None:
        raise InvalidPeriod(f"无效的期间 {value!r}: 应为 2026、2026H1、2026Q3、2026-03 或 all")
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidPeriod(f"无效的年份 {year}: 应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间")
    zone = zone or timezone.get_default_timezone()
    if match["half"]:
        first, months = 1 + (int(match["half"]) - 1) * 6, 6
    elif match["quarter"]:
        first, months = 1 + (int(match["quarter"]) - 1) * 3, 3
    elif match["month"]:
        first, months = int(match["month"]), 1
        if not 1 <= first <= 12:
            raise InvalidPeriod(f"无效的月份 {match['month']}")
    else:
        first, months = 1, 12
    return Period(_month_start(year, first, zone), _month_start(year, first + months, zone))
