"""The dashboards' numbers: month by month for a community or a street, and who may read them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.core.periods import parse_period
from backend.reports import selectors

from .factories import at

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard/"


def by_month(series: list[dict], *fields: str) -> dict[str, tuple]:
    """The months where something happened."""
    return {
        row["month"]: tuple(row[f] for f in fields) for row in series if any(row[f] not in (0, "0.00") for f in fields)
    }


def test_a_community_over_a_year(town):
    data = selectors.dashboard(user=town.staff_a, period=parse_period("2025"), community=town.a).as_data()
    assert [row["month"] for row in data["registrations"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    # 张一 in January, 周七 in March (钱五's was in 2024); U1's unit registration in January.
    assert by_month(data["registrations"], "members", "units") == {"2025-01": (1, 1), "2025-03": (1, 0)}
    # act1 in February (3 in), act2 and act3 in March (张一 at both), act4 in April.
    assert by_month(data["activities"], "activities", "check_ins", "participants") == {
        "2025-02": (1, 3, 3),
        "2025-03": (2, 2, 1),
        "2025-04": (1, 1, 1),
    }
    # 张一's approved hours for A: the 23:30 hour of 31 March is March's, the 00:30 one April's.
    assert by_month(data["volunteer_hours"], "hours", "volunteers") == {
        "2025-02": ("3.00", 1),
        "2025-03": ("1.00", 1),
        "2025-04": ("2.00", 1),
    }
    assert [(v["rank"], v["name"], v["hours"]) for v in data["top_volunteers"]] == [(1, "张一", "6.00")]
    appeals = data["appeals"]
    assert by_month(appeals["submitted"], "submitted") == {"2025-01": (1,), "2025-02": (1,), "2025-03": (1,)}
    # Accepted in time: the first only; resolved in time: the first of the two accepted; rated: one, a 5.
    assert appeals["response_rate"] == {"numerator": 1, "denominator": 3, "rate": 0.3333}
    assert appeals["resolution_rate"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert appeals["satisfaction_rate"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert appeals["overdue_count"] == 2
    assert [a["id"] for a in appeals["overdue"]] == [town.late.pk, town.waiting.pk]
    assert appeals["overdue"][1]["overdue_since"] == "2025-03-11T10:00:00+08:00"
    assert data["coverage"] == selectors.community_coverage(town.a).coverage.as_data()
    assert data["brand_plans"]["year"] == 2025
    assert data["brand_plans"]["communities"] == [
        {
            "community": {"id": town.a.pk, "name": "A社区"},
            "brand": "岳阳楼下党旗红",
            "plan_status": "approved",
            "due_date": "2025-06-30",
            "deadline_status": "late",
            "days_left": (timezone.localdate().replace(year=2025, month=6, day=30) - timezone.localdate()).days,
        }
    ]


def test_a_street_over_a_quarter(town):
    data = selectors.dashboard(user=town.admin, period=parse_period("2025Q1"), street=town.street).as_data()
    assert [row["month"] for row in data["activities"]] == ["2025-01", "2025-02", "2025-03"]
    # 李二's 13 hours were served for B.
    assert by_month(data["volunteer_hours"], "hours", "volunteers") == {
        "2025-01": ("13.00", 1),
        "2025-02": ("3.00", 1),
        "2025-03": ("1.00", 1),
    }
    assert [(v["rank"], v["name"], v["hours"]) for v in data["top_volunteers"]] == [
        (1, "李二", "13.00"),
        (2, "张一", "4.00"),
    ]
    # B's appeal of 11 March joins A's three.
    assert data["appeals"]["response_rate"] == {"numerator": 1, "denominator": 4, "rate": 0.25}
    assert data["appeals"]["overdue_count"] == 3
    assert by_month(data["registrations"], "members", "units") == {
        "2025-01": (1, 1),
        "2025-02": (1, 0),
        "2025-03": (1, 0),
    }
    assert data["coverage"] == selectors.street_coverage(town.street).total.as_data()
    assert data["brand_plans"]["summary"] == {"no_deadline": 1, "pending": 0, "overdue": 1, "on_time": 0, "late": 1}


def test_endpoint_for_a_community(town, as_user):
    response = as_user(town.staff_a).get(URL, {"community": town.a.pk, "period": "2025"})
    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["community"], body["street"]) == ("2025", town.a.pk, None)
    assert body["start"] == "2025-01-01T00:00:00+08:00"
    assert len(body["volunteer_hours"]) == 12


def test_endpoint_for_a_street_defaults_to_this_year(town, as_user):
    response = as_user(town.admin).get(URL, {"street": town.street.pk})
    assert response.status_code == 200
    assert response.json()["period"] == str(timezone.localdate().year)


@pytest.mark.parametrize(
    "who,params,status",
    [
        ("staff_a", {"community": "B"}, 404),
        ("staff_a", {"street": "street"}, 404),
        ("staff_b", {"community": "A"}, 404),
        ("other_admin", {"street": "street"}, 404),
        ("admin", {"community": "A"}, 200),
        ("admin", {"community": "B"}, 200),
        ("resident", {"community": "A"}, 403),
        ("liaison", {"community": "A"}, 403),
    ],
)
def test_endpoint_scope(town, as_user, who, params, status):
    ids = {"A": town.a.pk, "B": town.b.pk, "street": town.street.pk}
    query = {key: ids[value] for key, value in params.items()}
    assert as_user(getattr(town, who)).get(URL, query).status_code == status


def test_anonymous(town, api):
    assert api.get(URL, {"community": town.a.pk}).status_code == 401


@pytest.mark.parametrize(
    "params,field",
    [
        ({}, "community"),
        ({"community": "A", "street": "street"}, "community"),
        ({"community": "A", "period": "all"}, "period"),
        ({"community": "A", "period": "2025Q5"}, "period"),
        ({"community": "x"}, "community"),
    ],
)
def test_bad_input(town, as_user, params, field):
    ids = {"A": town.a.pk, "street": town.street.pk}
    query = {key: ids.get(value, value) for key, value in params.items()}
    response = as_user(town.admin).get(URL, query)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]


def test_equal_hours_share_a_rank(town):
    from .factories import volunteer_hours

    # 周七 and 钱五 reach 张一's 6 hours for A in 2025; 孙六 serves less.
    for m in (town.m7, town.m5):
        volunteer_hours(m.user, town.a, started_at=at(2025, 6, 1), hours=6, approved_by=town.staff_a)
    volunteer_hours(town.m6.user, town.a, started_at=at(2025, 6, 2), hours=1, approved_by=town.staff_a)
    top = selectors.dashboard(user=town.staff_a, period=parse_period("2025"), community=town.a).top_volunteers
    assert [(v.rank, v.name, str(v.hours)) for v in top] == [
        (1, "张一", "6.00"),
        (1, "周七", "6.00"),  # ties in the order the volunteers registered
        (1, "钱五", "6.00"),
        (4, "孙六", "1.00"),
    ]


def test_figures_need_a_bounded_period(town):
    with pytest.raises(ValueError, match="bounded period"):
        selectors.dashboard(user=town.admin, period=parse_period("all"), street=town.street)
    with pytest.raises(ValueError, match="bounded period"):
        selectors.member_report_line(town.m1.user, parse_period("all"))
