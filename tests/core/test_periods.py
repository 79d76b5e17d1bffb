"""Periods as the API writes them, bounded in Beijing time."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q

from backend.core.periods import InvalidPeriod, Period, parse_period

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", local(2026, 1, 1), local(2027, 1, 1)),
        ("2026H1", local(2026, 1, 1), local(2026, 7, 1)),
        ("2026H2", local(2026, 7, 1), local(2027, 1, 1)),
        ("2026Q1", local(2026, 1, 1), local(2026, 4, 1)),
        ("2026Q3", local(2026, 7, 1), local(2026, 10, 1)),
        ("2026Q4", local(2026, 10, 1), local(2027, 1, 1)),
        ("2026-03", local(2026, 3, 1), local(2026, 4, 1)),
        ("2026-12", local(2026, 12, 1), local(2027, 1, 1)),
        ("2024-02", local(2024, 2, 1), local(2024, 3, 1)),
        (" 2026q2 ", local(2026, 4, 1), local(2026, 7, 1)),
        ("2026h1", local(2026, 1, 1), local(2026, 7, 1)),
    ],
)
def test_each_form_gives_its_half_open_interval(text, start, end):
    period = parse_period(text)
    assert period == (start, end)
    assert period.start.utcoffset() == timedelta(hours=8)
    assert not period.is_all


def test_bounds_are_beijing_midnights_not_utc_ones():
    start, end = parse_period("2026-04")
    assert start == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 4, 30, 16, 0, tzinfo=UTC)
    period = Period(start, end)
    # 23:30 on 31 March in Beijing is 15:30 UTC: still March.
    assert not period.contains(datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    # 00:30 on 1 April in Beijing is 16:30 UTC on 31 March: already April.
    assert period.contains(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    assert period.contains(local(2026, 4, 30, 23, 59, 59))
    assert not period.contains(local(2026, 5, 1))


def test_all_has_no_bounds():
    period = parse_period("all")
    assert period == (None, None)
    assert period.is_all
    assert parse_period("ALL").is_all
    assert period.contains(datetime(1970, 1, 1, tzinfo=UTC))
    assert period.q("submitted_at") == Q()
    assert period.dates() == (None, None)


def test_q_filters_half_open():
    period = parse_period("2026Q1")
    assert period.q("at") == Q(at__gte=local(2026, 1, 1)) & Q(at__lt=local(2026, 4, 1))


def test_dates_for_date_fields():
    assert parse_period("2026Q3").dates() == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_period("2026-12").dates() == (date(2026, 12, 1), date(2027, 1, 1))


def test_another_zone_can_be_asked_for():
    start, end = parse_period("2026", zone=UTC)
    assert start == datetime(2026, 1, 1, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "26",
        "2026H3",
        "2026H0",
        "2026Q0",
        "2026Q5",
        "2026-00",
        "2026-13",
        "2026-3",
        "2026-003",
        "0000",
        "9999",
        # Before 1900 the zone is Shanghai's local mean time (+08:05:43); nothing is that old.
        "1000",
        "1899-12",
        "1999Q4",
        "2101",
        "2026Q1x",
        "20261",
        "last-year",
        "2026 Q1",
        "２０２６",
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(InvalidPeriod):
        parse_period(text)


@pytest.mark.parametrize("text", ["2000", "2100Q4", "2100-12"])
def test_the_sane_range_is_accepted(text):
    period = parse_period(text)
    assert period.start.utcoffset() == period.end.utcoffset() == timedelta(hours=8)


def test_none_is_refused():
    with pytest.raises(InvalidPeriod):
        parse_period(None)
