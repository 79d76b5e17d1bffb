"""The 台账: a community's records for a period as an Excel workbook, for that community's staff only."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from backend.volunteers import selectors, services
from tests import factories
from tests.volunteers.factories import VolunteerFactory, approved, record
from tests.xlsx import HOSTILE, assert_no_formulas

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/records/export/"


def test_the_ledger_lists_the_periods_records_with_chinese_headers(as_user, community, other_community, secretary):
    march = timezone.make_aware(dt.datetime(2026, 3, 5, 9))
    volunteer = VolunteerFactory(community=community, real_name="张三", volunteer_number="V00001-000007")
    first = approved(volunteer, started_at=march, hours="2.5", content="社区环境整治", approved_by=secretary)
    record(volunteer, started_at=march + dt.timedelta(days=2), hours="9", over_cap_flag=True, content="防汛值守")
    services.correct_record(
        record=first, by=secretary, started_at=march, ended_at=march + dt.timedelta(hours=3), reason="核实"
    )
    record(volunteer, started_at=march + dt.timedelta(days=40), hours="1")  # April
    record(volunteer, community=other_community, started_at=march, hours="1")  # another organiser

    response = as_user(secretary).get(URL, {"community": community.pk, "period": "2026-03"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "志愿服务台账"
    assert sheet["A1"].value == f"{community.name} 志愿服务记录台账 (2026-03)"
    headers = [cell.value for cell in sheet[2]]
    assert headers[:9] == [
        "序号",
        "志愿者编号",
        "姓名",
        "服务内容",
        "服务地点",
        "活动",
        "开始时间",
        "结束时间",
        "服务时长(小时)",
    ]
    assert sheet.freeze_panes == "A3"
    assert sheet.column_dimensions["D"].width == 30
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert len(rows) == 2
    assert rows[0][:4] == [1, "V00001-000007", "张三", "社区环境整治"]
    assert rows[0][6:11] == ["2026-03-05 09:00", "2026-03-05 12:00", 3, "本人补录", "已通过"]
    assert rows[0][11] == secretary.real_name and rows[0][14] == 1
    assert rows[1][3] == "防汛值守" and rows[1][10] == "待审核" and rows[1][13] == "超时长"
    assert float(rows[1][8]) == 9.0


def test_only_the_communitys_staff_export(as_user, community, other_community, volunteer):
    record(volunteer)
    for caller in (volunteer.user, factories.staff_of(other_community), factories.UserFactory()):
        response = as_user(caller).get(URL, {"community": community.pk})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_the_ledger_rule_is_the_selectors(community, other_community, secretary):
    assert selectors.ledger_community(secretary, community.pk) == community
    assert selectors.ledger_community(secretary, other_community.pk) is None
    assert selectors.ledger_community(factories.UserFactory(), community.pk) is None
    assert selectors.ledger_community(factories.UserFactory(is_superuser=True), 999999) is None


@pytest.mark.parametrize("params", [{}, {"community": "x"}, {"community": 1, "period": "March"}])
def test_bad_export_queries_are_400(as_user, secretary, params):
    response = as_user(secretary).get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_ledger_writes_user_text_as_text(as_user, community, secretary):
    march = timezone.make_aware(dt.datetime(2026, 3, 5, 9))
    volunteer = VolunteerFactory(community=community, real_name=HOSTILE[1])
    record(volunteer, started_at=march, hours="1", content=HOSTILE[0], place=HOSTILE[3])
    response = as_user(secretary).get(URL, {"community": community.pk, "period": "2026-03"})
    assert response.status_code == 200
    texts = assert_no_formulas(response.content)
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[3]} <= set(texts)
