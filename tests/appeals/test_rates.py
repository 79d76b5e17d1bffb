"""The three rates (响应率, 解决率, 满意率) against a fixture computed by hand, per place and period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.appeals import selectors
from backend.appeals.models import Appeal
from backend.core.periods import parse_period
from tests.appeals.factories import AppealFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATES = "/api/v1/appeals/rates/"
H = timedelta(hours=1)
D = timedelta(days=1)


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def fixture(town):
    """Ten appeals of 东湖 and one of the neighbouring community, with chosen times.

    General urgency: accept within 24 h, resolve within 7 days; urgent: 2 h and 2 h.

    | appeal | grid | submitted (Beijing) | accepted   | resolved    | score | counts as                      |
    |--------|------|---------------------|------------|-------------|-------|--------------------------------|
    | a1     | yes  | 10 Feb 09:00        | +2 h       | +3 d        | 5     | in time, in time, satisfied    |
    | a2     | yes  | 10 Feb 09:00        | +30 h late | +6 d        | 4     | late, in time, satisfied       |
    | a3     | yes  | 10 Feb 09:00        | +1 h       | +8 d late   | 2     | in time, late, unsatisfied     |
    | a4     |      | 10 Feb 09:00        | +23 h      | —           | —     | in time, unresolved            |
    | a5     |      | 10 Feb 09:00        | —          | —           | —     | never accepted                 |
    | a6     |      | 10 Feb 09:00        | rejected   | —           | —     | never accepted                 |
    | a7     |      | 10 Feb 09:00        | +3 h       | +2 d        | —     | in time, in time, closed unrated|
    | a8 urg.|      | 10 Feb 09:00        | +1 h 59 m  | +2 h 1 m    | —     | in time, late                  |
    | a9     |      | 31 Mar 23:30 (Q1)   | at due     | +2 d        | 3     | in time (≤), in time, unsatisf.|
    | a10    |      | 1 Apr 00:30 (Q2)    | +1 h       | +1 d        | 5     | only in Q2 though UTC says 31 Mar |
    | other  |      | 10 Feb 09:00        | —          | —           | —     | other community, same street   |

    2026Q1 for 东湖: submitted 9; accepted in time 6 (a1 a3 a4 a7 a8 a9) → 6/9;
    accepted 7 (+a2), resolved in time 4 (a1 a2 a7 a9) → 4/7; rated 4, rated 4–5: 2 (a1 a2) → 2/4.
    """
    s = beijing(2026, 2, 10, 9, 0)

    def appeal(submitted=s, urgency="general", grid=None, community=None, **times):
        status = "submitted"
        for name, stamp in (("accepted", "accepted_at"), ("resolved", "resolved_at"), ("rated", "score")):
            if times.get(stamp) is not None:
                status = name
        status = times.pop("status", status)
        if times.get("score") is not None:
            times["rated_at"] = times["resolved_at"] + H
        return AppealFactory(
            community=community or town.community,
            grid=grid,
            urgency=urgency,
            submitted_at=submitted,
            status=status,
            **times,
        )

    march_end = beijing(2026, 3, 31, 23, 30)
    april_start = beijing(2026, 4, 1, 0, 30)
    return {
        "a1": appeal(grid=town.grid, accepted_at=s + 2 * H, resolved_at=s + 3 * D, score=5),
        "a2": appeal(grid=town.grid, accepted_at=s + 30 * H, resolved_at=s + 6 * D, score=4),
        "a3": appeal(grid=town.grid, accepted_at=s + H, resolved_at=s + 8 * D, score=2),
        "a4": appeal(accepted_at=s + 23 * H, replied_at=s + 23 * H, status="replied"),
        "a5": appeal(),
        "a6": appeal(rejected_at=s + H, status="rejected"),
        "a7": appeal(accepted_at=s + 3 * H, resolved_at=s + 2 * D, closed_at=s + 9 * D, status="closed"),
        "a8": appeal(
            urgency="urgent", accepted_at=s + 119 * timedelta(minutes=1), resolved_at=s + 121 * timedelta(minutes=1)
        ),
        "a9": appeal(submitted=march_end, accepted_at=march_end + 24 * H, resolved_at=march_end + 2 * D, score=3),
        "a10": appeal(submitted=april_start, accepted_at=april_start + H, resolved_at=april_start + D, score=5),
        "other": appeal(community=town.other_community),
    }


def ratios(rates) -> tuple:
    return (
        (rates.response.numerator, rates.response.denominator),
        (rates.resolution.numerator, rates.resolution.denominator),
        (rates.satisfaction.numerator, rates.satisfaction.denominator),
    )


def test_the_fixture_is_what_the_table_says(fixture):
    assert fixture["a10"].submitted_at == datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert fixture["a9"].accepted_at == fixture["a9"].respond_due_at
    assert fixture["a8"].resolve_due_at == fixture["a8"].submitted_at + 2 * H


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2026Q1", ((6, 9), (4, 7), (2, 4))),
        ("2026H1", ((7, 10), (5, 8), (3, 5))),
        ("2026", ((7, 10), (5, 8), (3, 5))),
        ("all", ((7, 10), (5, 8), (3, 5))),
        ("2026-02", ((5, 8), (3, 6), (2, 3))),
        ("2026-03", ((1, 1), (1, 1), (0, 1))),
        ("2026-04", ((1, 1), (1, 1), (1, 1))),
        ("2026Q2", ((1, 1), (1, 1), (1, 1))),
        ("2025", ((0, 0), (0, 0), (0, 0))),
    ],
)
def test_community_rates_by_period(town, fixture, period, expected):
    rates = selectors.appeal_rates(Appeal.objects.filter(community=town.community), period=parse_period(period))
    assert ratios(rates) == expected


def test_rate_values(town, fixture):
    rates = selectors.appeal_rates(Appeal.objects.filter(community=town.community), period=parse_period("2026Q1"))
    assert rates.response.rate == 0.6667
    assert rates.resolution.rate == 0.5714
    assert rates.satisfaction.rate == 0.5
    empty = selectors.appeal_rates(Appeal.objects.none(), period=parse_period("all"))
    assert empty.response.rate is None


def test_rates_over_http_for_each_place(town, fixture, as_user):
    secretary = as_user(town.secretary)
    data = secretary.get(f"{RATES}?community={town.community.pk}&period=2026Q1").json()
    assert data["response_rate"] == {"numerator": 6, "denominator": 9, "rate": 0.6667}
    assert data["resolution_rate"] == {"numerator": 4, "denominator": 7, "rate": 0.5714}
    assert data["satisfaction_rate"] == {"numerator": 2, "denominator": 4, "rate": 0.5}
    assert data["community"] == town.community.pk and data["period"] == "2026Q1"
    assert data["start"] == "2026-01-01T00:00:00+08:00" and data["end"] == "2026-04-01T00:00:00+08:00"

    # Grid: a1 a2 a3 only.
    data = secretary.get(f"{RATES}?grid={town.grid.pk}&period=2026Q1").json()
    assert (data["response_rate"]["numerator"], data["response_rate"]["denominator"]) == (2, 3)
    assert (data["resolution_rate"]["numerator"], data["resolution_rate"]["denominator"]) == (2, 3)
    assert (data["satisfaction_rate"]["numerator"], data["satisfaction_rate"]["denominator"]) == (2, 3)

    # Street: the neighbouring community's never-accepted appeal joins the denominator.
    data = as_user(town.street_admin).get(f"{RATES}?street={town.street.pk}&period=2026Q1").json()
    assert data["response_rate"] == {"numerator": 6, "denominator": 10, "rate": 0.6}
    assert data["resolution_rate"]["denominator"] == 7

    # No place: the caller's whole scope; `all` by default.
    data = secretary.get(RATES).json()
    assert data["period"] == "all" and data["start"] is None
    assert data["response_rate"]["denominator"] == 10


@pytest.mark.parametrize(
    ("who", "query", "status", "code"),
    [
        ("other_staff", "community={community}", 404, "not_found"),
        ("secretary", "community={other_community}", 404, "not_found"),
        ("secretary", "grid={other_grid}", 404, "not_found"),
        ("secretary", "street={street}", 404, "not_found"),
        ("secretary", "community=999999", 404, "not_found"),
        ("street_admin", "street=999999", 404, "not_found"),
        ("worker", "grid={grid}", 403, "permission_denied"),
        ("resident", "", 403, "permission_denied"),
        ("secretary", "period=2026Q5", 400, "validation_error"),
        ("secretary", "period=last-year", 400, "validation_error"),
        ("secretary", "community={community}&grid={grid}", 400, "validation_error"),
        ("secretary", "community=abc", 400, "validation_error"),
    ],
)
def test_rates_refusals(town, as_user, who, query, status, code):
    query = query.format(
        community=town.community.pk,
        other_community=town.other_community.pk,
        grid=town.grid.pk,
        other_grid=town.other_grid.pk,
        street=town.street.pk,
    )
    response = as_user(getattr(town, who)).get(f"{RATES}?{query}")
    assert response.status_code == status
    assert response.json()["code"] == code
    if status == 400:
        assert response.json()["fields"]


def test_rates_cost_the_same_queries_however_many_appeals(town, fixture, as_user):
    client = as_user(town.secretary)
    url = f"{RATES}?community={town.community.pk}&period=2026"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        AppealFactory(community=town.community, submitted_at=beijing(2026, 5, 1, 10, 0))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
