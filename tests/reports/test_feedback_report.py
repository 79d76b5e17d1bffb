"""双报告: each member's line and the unit's figures against the town's hand count, for several periods."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.core.periods import parse_period
from backend.reports import selectors
from tests import factories

from .factories import at, volunteer_hours

pytestmark = pytest.mark.django_db


def report(town, period: str, organization=None) -> dict:
    return selectors.feedback_report(
        organization=organization or town.u1, period=parse_period(period), label=period
    ).as_data()


def lines_by_name(data: dict) -> dict[str, dict]:
    return {line["name"]: line for group in data["communities"] for line in group["members"]}


def figures(line: dict) -> tuple:
    meetings = line["meetings"]
    return (
        line["community"]["name"] if line["community"] else None,
        line["posts"],
        line["activities_attended"],
        (meetings["attended"], meetings["on_leave"], meetings["absent"]),
        line["volunteer_hours"],
        line["volunteer_services"],
        line["demands_completed"],
        line["points"],
        line["meets_target"],
    )


# 2025Q1 for U1, target 12.50 h or 3 services:
# 张一 m1: registered A; holds 楼栋长 since 15 Jan; checked in at act1, act2 (三会一课) and act3 (party lesson);
#   3 h (act1) + 1 h at 23:30 on 31 March (Shanghai: still Q1); the pending 2 h and the 2 h at 00:30 on
#   1 April do not count; points 5 + 3 - 2; one demand confirmed 1 March → services 2 + 1 = 3: meets.
# 李二 m2: registered B on 1 Feb; his post ended in 2024; on leave from act2, absent from act3; 13 h: meets.
# 王三 m3: only a pending registration naming U1: a claim, so no member of U1 and no line.
# 赵四 m4: registered only in May; absent from act3 (a branch meeting expects every U1 member).
# 周七 m7: registered A on 1 March (no home chosen); at act1; enrolled at act2 but absent, absent from act3;
#   one demand done 15 March (services 1); his post starts in April.
EXPECTED_Q1 = {
    "张一": ("A社区", ["楼栋长"], 3, (2, 0, 0), "4.00", 2, 1, 6, True),
    "李二": ("B社区", [], 0, (0, 1, 1), "13.00", 1, 0, 0, True),
    "赵四": (None, [], 0, (0, 0, 1), "0.00", 0, 0, 0, False),
    "周七": ("A社区", [], 1, (0, 0, 2), "0.00", 0, 1, 0, False),
}


def test_each_member_in_the_first_quarter(town):
    data = report(town, "2025Q1")
    assert {name: figures(line) for name, line in lines_by_name(data).items()} == EXPECTED_Q1
    assert data["target"] == {"hours": "12.50", "services": 3}
    zhang = lines_by_name(data)["张一"]
    assert zhang["phone"].count("*") == 4 and zhang["phone"] != town.m1.phone
    assert zhang["registered_at"] == "2025-01-10T09:00:00+08:00"
    assert zhang["services"] == 3 and zhang["has_post"] is True


def test_the_units_figures(town):
    data = report(town, "2025Q1")
    summary = data["summary"]
    assert summary["members"] == 4  # U1's approved four; m3 only applied, m5 is U2's, m6 never registered
    assert summary["registration_rate"] == {"numerator": 3, "denominator": 4, "rate": 0.75}
    assert summary["service_completion_rate"] == {"numerator": 2, "denominator": 4, "rate": 0.5}
    assert summary["volunteer_hours"] == "17.00"
    assert summary["volunteer_services"] == 3
    assert summary["activities_attended"] == 4
    assert summary["meetings_attended"] == 2
    assert summary["demands_completed"] == 2
    assert summary["unit_demands_completed"] == 1  # claimed by the unit through its liaison
    assert summary["points"] == 6
    assert [row["name"] for row in summary["below_target"]] == ["赵四", "周七"]
    assert [row["name"] for row in summary["without_post"]] == ["李二", "赵四", "周七"]
    assert data["unit_communities"] == [{"id": town.a.pk, "name": "A社区"}]
    assert data["organization"] == {"id": town.u1.pk, "name": "市财政局机关党支部", "employer": "市财政局"}
    assert (data["start"], data["end"]) == ("2025-01-01T00:00:00+08:00", "2025-04-01T00:00:00+08:00")


def test_one_group_per_community_and_the_unregistered_last(town):
    data = report(town, "2025Q1")
    groups = [
        (group["id"], group["name"], [line["name"] for line in group["members"]]) for group in data["communities"]
    ]
    assert groups == [
        (town.a.pk, "A社区", ["张一", "周七"]),
        (town.b.pk, "B社区", ["李二"]),
        (None, "未报到", ["赵四"]),
    ]


def test_the_whole_year(town):
    data = report(town, "2025")
    lines = lines_by_name(data)
    assert data["target"] == {"hours": "50.00", "services": 12}
    # 赵四 registered with B in May; his 10 points of April count now.
    assert figures(lines["赵四"])[0] == "B社区" and lines["赵四"]["points"] == 10
    # 张一's April hours and activity count in the year; 周七's post from April too.
    assert lines["张一"]["volunteer_hours"] == "6.00" and lines["张一"]["activities_attended"] == 4
    assert lines["周七"]["posts"] == ["政策宣讲"]
    # 李二's demand of June; nobody reaches 50 h or 12 services.
    assert lines["李二"]["demands_completed"] == 1
    assert data["summary"]["service_completion_rate"] == {"numerator": 0, "denominator": 4, "rate": 0.0}
    assert data["summary"]["registration_rate"]["numerator"] == 4


def test_months_split_at_midnight_in_shanghai(town):
    assert lines_by_name(report(town, "2025-03"))["张一"]["volunteer_hours"] == "1.00"
    assert lines_by_name(report(town, "2025-04"))["张一"]["volunteer_hours"] == "2.00"
    assert report(town, "2025-03")["target"] == {"hours": "4.17", "services": 1}


def test_a_registration_withdrawn_after_the_period_still_counts_in_it(town):
    # 钱五 (U2) registered with A in December 2024 and withdrew in August 2025.
    assert lines_by_name(report(town, "2025Q2", town.u2))["钱五"]["community"]["name"] == "A社区"
    # From the end of the registration on, 钱五 is no member of U2: no line in the period it ended in, or later.
    assert "钱五" not in lines_by_name(report(town, "2025Q4", town.u2))
    assert "钱五" not in lines_by_name(report(town, "2025Q3", town.u2))
    # U2's own registration with B was approved in June: a co-building community from Q2 on.
    assert report(town, "2025Q1", town.u2)["unit_communities"] == []
    assert report(town, "2025Q2", town.u2)["unit_communities"] == [{"id": town.b.pk, "name": "B社区"}]


def test_no_target_measures_nobody(town, settings):
    settings.FEEDBACK_REPORT_YEARLY_HOURS = 0
    settings.FEEDBACK_REPORT_YEARLY_SERVICES = 0
    data = report(town, "2025Q1")
    assert {line["meets_target"] for line in lines_by_name(data).values()} == {None}
    assert data["summary"]["service_completion_rate"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert data["summary"]["below_target"] == []


def test_hours_alone_or_services_alone(town, settings):
    settings.FEEDBACK_REPORT_YEARLY_SERVICES = 0
    assert [n for n, line in lines_by_name(report(town, "2025Q1")).items() if line["meets_target"]] == ["李二"]
    settings.FEEDBACK_REPORT_YEARLY_HOURS = 0
    settings.FEEDBACK_REPORT_YEARLY_SERVICES = 12
    assert [n for n, line in lines_by_name(report(town, "2025Q1")).items() if line["meets_target"]] == ["张一"]


def test_a_unit_without_members(town):
    data = report(town, "2025Q1", factories.UnitOrganizationFactory())
    assert data["summary"]["members"] == 0
    assert data["summary"]["registration_rate"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert data["communities"] == []


def test_member_report_line(town):
    line = selectors.member_report_line(town.m1.user, parse_period("2025Q1"), label="2025Q1").as_data()
    assert figures(line) == EXPECTED_Q1["张一"]
    assert line["period"] == "2025Q1" and line["target"] == {"hours": "12.50", "services": 3}
    assert line["start"] == "2025-01-01T00:00:00+08:00"
    assert selectors.member_report_line(town.resident, parse_period("2025Q1")) is None
    from django.contrib.auth.models import AnonymousUser

    assert selectors.member_report_line(AnonymousUser(), parse_period("2025Q1")) is None


def test_members_me_shows_the_own_line(town, as_user, django_assert_max_num_queries):
    client = as_user(town.m1.user)
    with django_assert_max_num_queries(40):
        me = client.get("/api/v1/members/me/", {"period": "2025q1"}).json()
    line = me["report"]
    assert line["period"] == "2025Q1" and figures(line) == EXPECTED_Q1["张一"]
    # Without a period: this year's line.
    year = str(timezone.localdate().year)
    assert client.get("/api/v1/members/me/").json()["report"]["period"] == year
    # Someone who is not a party member has no line.
    assert as_user(town.resident).get("/api/v1/members/me/").json()["report"] is None


@pytest.mark.parametrize("period", ["all", "2025Q5", "abc", "2025-13", "9" * 40])
def test_members_me_refuses_a_bad_period(town, as_user, period):
    response = as_user(town.m1.user).get("/api/v1/members/me/", {"period": period})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and "period" in body["fields"]


def test_staff_read_their_communities_lines_only(town):
    data = report(town, "2025Q1")
    access = selectors.report_access(town.staff_a, town.u1)
    assert access == selectors.ReportAccess(full=False, community_ids=frozenset({town.a.pk}))
    cut = selectors.restrict_report(data, access)
    assert [group["name"] for group in cut["communities"]] == ["A社区"]
    assert [row["name"] for row in cut["summary"]["below_target"]] == ["周七"]
    assert [row["name"] for row in cut["summary"]["without_post"]] == ["周七"]
    # The unit's own counts stay whole: they name nobody.
    assert cut["summary"]["members"] == 4


def test_who_reaches_a_units_report(town):
    # The liaison reads the lines of the communities of the ties they filed (U1's with A).
    assert selectors.report_access(town.liaison, town.u1) == selectors.ReportAccess(
        full=False, community_ids=frozenset({town.a.pk})
    )
    assert selectors.report_access(town.superuser, town.u1).full
    assert selectors.report_access(town.staff_b, town.u1).community_ids == {town.b.pk}
    assert selectors.report_access(town.admin, town.u1).community_ids == {town.a.pk, town.b.pk, town.c.pk}
    assert selectors.report_access(town.staff_c, town.u1) is None  # neither unit nor members registered with C
    assert selectors.report_access(town.staff_d, town.u1) is None
    assert selectors.report_access(town.resident, town.u1) is None
    # A community's own branch: its community's staff read it whole.
    assert selectors.report_access(town.staff_a, town.branch_a).full


def test_later_service_changes_the_live_report(town):
    before = lines_by_name(report(town, "2025Q1"))["周七"]
    volunteer_hours(town.m7.user, town.a, started_at=at(2025, 3, 2), hours=20, approved_by=town.staff_a)
    after = lines_by_name(report(town, "2025Q1"))["周七"]
    assert (before["volunteer_hours"], before["meets_target"]) == ("0.00", False)
    assert (after["volunteer_hours"], after["meets_target"]) == ("20.00", True)
