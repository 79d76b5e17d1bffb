"""GET members/reports/ (and export, and the kept reports): who reads what, bad input, the workbook."""

from __future__ import annotations

import io

import pytest
from django.urls import resolve
from openpyxl import load_workbook

from backend.accounts.models import PersonalDataAccess, Role
from backend.reports import services, views
from tests import factories
from tests.xlsx import HOSTILE, assert_no_formulas

pytestmark = pytest.mark.django_db

URL = "/api/v1/members/reports/"


def names(body: dict) -> dict[str, list[str]]:
    return {group["name"]: [line["name"] for line in group["members"]] for group in body["communities"]}


def test_the_route_is_ours_not_a_members_detail():
    assert resolve(URL).func.view_class is views.FeedbackReportView
    assert resolve(URL + "export/").func.view_class is views.FeedbackReportExportView
    assert resolve(URL + "sent/").func.view_class is views.SentReportListView


def test_the_whole_report(town, as_user):
    response = as_user(town.superuser).get(URL, {"organization": town.u1.pk, "period": "2025q1"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "2025Q1"
    assert names(body) == {"A社区": ["张一", "周七"], "B社区": ["李二"], "未报到": ["赵四"]}
    assert body["summary"]["registration_rate"] == {"numerator": 3, "denominator": 4, "rate": 0.75}
    assert body["sent_report"] is None


def test_the_liaison_reads_the_lines_of_their_own_ties_communities(town, as_user):
    response = as_user(town.liaison).get(URL, {"organization": town.u1.pk, "period": "2025q1"})
    assert response.status_code == 200
    body = response.json()
    # U1's liaison filed its tie with A: A's lines, not B's nor the unregistered members'.
    assert names(body) == {"A社区": ["张一", "周七"]}
    assert body["summary"]["registration_rate"] == {"numerator": 3, "denominator": 4, "rate": 0.75}
    # Two members' lines read: two audit rows.
    reads = PersonalDataAccess.objects.filter(actor=town.liaison, what="feedback_report")
    assert sorted(reads.values_list("subject_id", flat=True)) == sorted(m.user_id for m in (town.m1, town.m7))


def test_a_liaison_of_the_unit_without_a_tie_of_their_own_reads_nothing(town, as_user):
    by_hand = factories.UserFactory()
    factories.grant(by_hand, Role.UNIT_LIAISON, town.u1)
    response = as_user(by_hand).get(URL, {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 404
    assert not PersonalDataAccess.objects.filter(actor=by_hand).exists()


@pytest.mark.parametrize(
    "who,expected",
    [
        ("staff_a", {"A社区": ["张一", "周七"]}),
        ("staff_b", {"B社区": ["李二"]}),
        ("admin", {"A社区": ["张一", "周七"], "B社区": ["李二"]}),
    ],
)
def test_staff_read_their_communities_members(town, as_user, who, expected):
    response = as_user(getattr(town, who)).get(URL, {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 200
    assert names(response.json()) == expected


@pytest.mark.parametrize("who", ["staff_c", "staff_d", "other_admin", "liaison_u2"])
def test_outside_reach_is_404(town, as_user, who):
    if who == "liaison_u2":
        factories.grant(town.liaison_u2, Role.UNIT_LIAISON, town.u2)
    before = PersonalDataAccess.objects.count()
    response = as_user(getattr(town, who)).get(URL, {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert PersonalDataAccess.objects.count() == before


def test_no_role_is_403_and_anonymous_401(town, as_user, api):
    response = as_user(town.m1.user).get(URL, {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert api.get(URL, {"organization": town.u1.pk, "period": "2025Q1"}).status_code == 401


@pytest.mark.parametrize(
    "params,field",
    [
        ({"organization": "1", "period": "2025Q5"}, "period"),
        ({"organization": "1", "period": "all"}, "period"),
        ({"organization": "1", "period": "last year"}, "period"),
        ({"organization": "1", "period": "1000"}, "period"),
        ({"organization": "1"}, "period"),
        ({"period": "2025Q1"}, "organization"),
        ({"organization": "abc", "period": "2025Q1"}, "organization"),
        ({"organization": str(2**64), "period": "2025Q1"}, "organization"),
    ],
)
def test_bad_input_is_a_validation_error(town, as_user, params, field):
    for path in (URL, URL + "export/", URL + "sent/"):
        if path.endswith("sent/") and params.get("period") is None and "organization" in params:
            continue  # the period is optional there
        response = as_user(town.liaison).get(path, params)
        assert response.status_code == 400, path
        body = response.json()
        assert body["code"] == "validation_error"
        assert field in body["fields"]


def test_an_organisation_that_does_not_exist(town, as_user):
    assert as_user(town.liaison).get(URL, {"organization": 999999, "period": "2025"}).status_code == 404


MEMBER_HEADERS = [
    "序号",
    "姓名",
    "手机号",
    "报到社区",
    "网格",
    "报到日期",
    "服务岗位",
    "参加活动(次)",
    "三会一课出席(次)",
    "三会一课请假(次)",
    "三会一课缺席(次)",
    "志愿服务时长(小时)",
    "志愿服务(次)",
    "完成需求(件)",
    "积分",
    "达到服务目标",
    "备注",
]


def row(sheet, number: int, width: int) -> list:
    return [sheet.cell(row=number, column=column).value for column in range(1, width + 1)]


def test_the_workbook_cell_by_cell(town, as_user):
    response = as_user(town.superuser).get(URL + "export/", {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 200
    assert response["Content-Type"] == views.XLSX
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["汇总", "A社区", "B社区", "未报到"]

    summary = book["汇总"]
    assert summary["A1"].value == "市财政局机关党支部 2025Q1 双报告 (2025-01-01 至 2025-03-31)"
    assert row(summary, 2, 2) == ["项目", "数值"]
    assert summary.freeze_panes == "A3"
    expected = [
        ["党员人数", 4],
        ["已报到人数", 3],
        ["报到率", 0.75],
        ["服务目标(小时)", 12.5],
        ["服务目标(次)", 3],
        ["达到服务目标人数", 2],
        ["服务完成率", 0.5],
        ["志愿服务时长(小时)", 17],
        ["志愿服务(次)", 3],
        ["参加活动(人次)", 4],
        ["三会一课出席(人次)", 2],
        ["党员完成需求(件)", 2],
        ["单位认领完成需求(件)", 1],
        ["积分合计", 6],
        ["共建社区", "A社区"],
        ["未达服务目标的党员", "赵四、周七"],
        ["未认领服务岗位的党员", "李二、赵四、周七"],
    ]
    assert [row(summary, 3 + n, 2) for n in range(len(expected))] == expected
    assert summary["B5"].number_format == "0.00%"
    assert summary["B6"].number_format == "0.00"
    assert summary.cell(row=3 + len(expected), column=1).value == "生成时间"

    a = book["A社区"]
    assert a["A1"].value == "A社区 · 市财政局机关党支部 2025Q1 双报告"
    assert row(a, 2, len(MEMBER_HEADERS)) == MEMBER_HEADERS
    assert a.freeze_panes == "A3"
    assert a.column_dimensions["G"].width == 20
    phone = town.m1.phone[:3] + "****" + town.m1.phone[-4:]
    assert row(a, 3, len(MEMBER_HEADERS)) == [
        1, "张一", phone, "A社区", None, "2025-01-10", "楼栋长", 3, 2, 0, 0, 4, 2, 1, 6, "是", None
    ]  # fmt: skip
    assert row(a, 4, len(MEMBER_HEADERS))[:3] == [2, "周七", town.m7.phone[:3] + "****" + town.m7.phone[-4:]]
    assert row(a, 4, len(MEMBER_HEADERS))[3:] == [
        "A社区", None, "2025-03-01", None, 1, 0, 0, 2, 0, 0, 1, 0, "否", "未认领岗位"
    ]  # fmt: skip
    assert a.cell(row=5, column=1).value is None
    b = book["B社区"]
    assert row(b, 3, len(MEMBER_HEADERS))[1:] == [
        "李二", town.m2.phone[:3] + "****" + town.m2.phone[-4:], "B社区", None, "2025-02-01", None,
        0, 0, 1, 1, 13, 1, 0, 0, "是", "未认领岗位",
    ]  # fmt: skip
    unregistered = book["未报到"]
    assert [unregistered.cell(row=r, column=2).value for r in (3, 4)] == ["赵四", None]
    assert unregistered.cell(row=3, column=4).value is None


def test_the_workbook_for_staff_holds_their_sheets_only(town, as_user):
    response = as_user(town.staff_b).get(URL + "export/", {"organization": town.u1.pk, "period": "2025Q1"})
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["汇总", "B社区"]


def test_the_workbook_for_a_liaison_holds_their_ties_sheets_only(town, as_user):
    response = as_user(town.liaison).get(URL + "export/", {"organization": town.u1.pk, "period": "2025Q1"})
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["汇总", "A社区"]


def test_the_kept_report_is_pointed_at(town, as_user):
    kept = services.generate_feedback_report(organization=town.u1, period="2025Q1")
    body = as_user(town.superuser).get(URL, {"organization": town.u1.pk, "period": "2025Q1"}).json()
    assert body["sent_report"]["id"] == kept.pk
    assert body["sent_report"]["sent_at"] is None
    assert body["sent_report"]["file_url"] == kept.xlsx.url
    liaison = as_user(town.liaison).get(URL, {"organization": town.u1.pk, "period": "2025Q1"}).json()
    assert liaison["sent_report"]["id"] == kept.pk and liaison["sent_report"]["file_url"] is None
    staff = as_user(town.staff_a).get(URL, {"organization": town.u1.pk, "period": "2025Q1"}).json()
    assert staff["sent_report"]["file_url"] is None  # the file holds every community's sheet


def test_the_kept_reports_list(town, as_user):
    q1 = services.send_feedback_report(report=services.generate_feedback_report(organization=town.u1, period="2025Q1"))
    services.generate_feedback_report(organization=town.u1, period="2025Q2")
    response = as_user(town.liaison).get(URL + "sent/", {"organization": town.u1.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [r["period"] for r in body["results"]] == ["2025Q2", "2025Q1"]
    first = body["results"][1]
    assert first["sent_notice"] == q1.sent_notice_id and first["recipient_count"] == 1
    # The file holds every community's sheet; the liaison reads their own ties' communities only.
    assert first["file_url"] is None
    assert names(first["data"]) == {"A社区": ["张一", "周七"]}
    whole = as_user(town.superuser).get(URL + "sent/", {"organization": town.u1.pk}).json()["results"][1]
    assert whole["file_url"] == q1.xlsx.url
    assert names(whole["data"]) == {"A社区": ["张一", "周七"], "B社区": ["李二"], "未报到": ["赵四"]}

    only_q1 = as_user(town.liaison).get(URL + "sent/", {"organization": town.u1.pk, "period": "2025q1"}).json()
    assert [r["period"] for r in only_q1["results"]] == ["2025Q1"]

    staff = as_user(town.staff_a).get(URL + "sent/", {"organization": town.u1.pk}).json()
    assert {r["file_url"] for r in staff["results"]} == {None}
    assert names(staff["results"][1]["data"]) == {"A社区": ["张一", "周七"]}
    assert as_user(town.staff_d).get(URL + "sent/", {"organization": town.u1.pk}).status_code == 404
    assert as_user(town.resident).get(URL + "sent/", {"organization": town.u1.pk}).status_code == 403


def test_the_workbook_writes_member_names_as_text(town, as_user):
    """The 双报告 goes to employers: a member's name must not run in their spreadsheet."""
    town.m1.real_name = HOSTILE[0]
    town.m1.save(update_fields=["real_name"])
    response = as_user(town.liaison).get(URL + "export/", {"organization": town.u1.pk, "period": "2025Q1"})
    assert response.status_code == 200
    assert HOSTILE[0] in assert_no_formulas(response.content)
