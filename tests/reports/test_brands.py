"""A brand's figures (public) and the street's brand board (street admins), JSON and Excel."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from backend.brands.models import Brand, BrandPlan
from backend.reports import selectors
from tests.brands.factories import BrandFactory, PlanFactory, deadline_for

from .factories import at

pytestmark = pytest.mark.django_db

# The brand's activities: act1 (2025: 张一, 周七, 孙六 checked in; 张一's 3 approved hours) and act6 (2024:
# 张一, 李二; 张一's 2 hours). A draft, a cancelled and a future activity of the brand count for nothing.
ALL_TIME = {"activities": 2, "participants": 4, "check_ins": 5, "volunteer_hours": "5.00"}
YEARS = [
    {"year": 2025, "activities": 1, "participants": 3, "check_ins": 3, "volunteer_hours": "3.00"},
    {"year": 2024, "activities": 1, "participants": 2, "check_ins": 2, "volunteer_hours": "2.00"},
]


def test_brand_figures(town, api):
    response = api.get(f"/api/v1/brands/{town.brand_a.pk}/figures/")
    assert response.status_code == 200
    body = response.json()
    assert body["brand"] == {"id": town.brand_a.pk, "name": "岳阳楼下党旗红", "community": town.a.pk}
    assert body["all_time"] == ALL_TIME
    assert body["years"] == YEARS


def test_a_year_is_the_shanghai_year_an_activity_started(town):
    from .factories import activity, checked_in

    # 00:30 on 1 January 2026 in Shanghai is still 2025 in UTC.
    new_year = activity(town.a, starts_at=at(2026, 1, 1, 0, 30), brand=town.brand_a, organiser=town.staff_a)
    checked_in(new_year, town.m4.user, by=town.staff_a)
    years = {row.year: row for row in selectors.brand_figures(town.brand_a).years}
    assert years[2026].activities == 1 and years[2026].check_ins == 1
    assert years[2025].activities == 1


@pytest.mark.parametrize("status", [Brand.Status.DRAFT, Brand.Status.RETIRED])
def test_only_published_brands_have_figures(town, api, as_user, status):
    brand = BrandFactory(community=town.c, status=status)
    assert api.get(f"/api/v1/brands/{brand.pk}/figures/").status_code == 404
    # Not even for the staff who run it: the figures are the public page's.
    assert as_user(town.staff_c).get(f"/api/v1/brands/{brand.pk}/figures/").status_code == 404
    assert api.get(f"/api/v1/brands/{town.brand_b.pk}/figures/").json()["code"] == "not_found"
    assert api.get("/api/v1/brands/999999/figures/").status_code == 404


def board(town, today: dt.date) -> dict[str, dict]:
    rows = selectors.brand_board(community_ids=[town.a.pk, town.b.pk, town.c.pk], year=2025, today=today)
    return {row.community.name: row.as_data() for row in rows}


def test_the_board_before_the_deadline(town):
    rows = board(town, dt.date(2025, 6, 1))
    a, b, c = rows["A社区"], rows["B社区"], rows["C社区"]
    # A's first version was returned; the second, handed in on 5 July, is the one that counts: late.
    assert a["brand"]["name"] == "岳阳楼下党旗红" and a["brand"]["status"] == "active"
    assert (a["plan"]["version"], a["plan"]["status"]) == (2, "approved")
    assert a["handed_in_at"] == "2025-07-05T09:00:00+08:00"
    assert (a["due_date"], a["deadline_title"], a["deadline_status"], a["days_left"]) == (
        "2025-06-30",
        "七一前",
        "late",
        29,
    )
    assert a["figures"] == ALL_TIME
    assert [(h["title"], h["level"], h["recipient"]) for h in a["honors"]] == [
        ("市级党建品牌", "municipal", "岳阳楼下党旗红"),
        ("先进基层党组织", "district", "A社区第一党支部"),
    ]
    # B: a draft brand with a draft plan, not yet due.
    assert (b["brand"]["status"], b["plan"]["status"], b["deadline_status"], b["days_left"]) == (
        "draft",
        "draft",
        "pending",
        29,
    )
    assert b["honors"] == []
    assert b["figures"] == {"activities": 0, "participants": 0, "check_ins": 0, "volunteer_hours": "0.00"}
    # C: nothing at all.
    assert (c["brand"], c["plan"], c["due_date"], c["deadline_status"], c["days_left"]) == (
        None,
        None,
        None,
        "no_deadline",
        None,
    )


def test_the_board_after_the_deadline(town):
    rows = board(town, dt.date(2025, 7, 10))
    assert (rows["B社区"]["deadline_status"], rows["B社区"]["days_left"]) == ("overdue", -10)
    assert rows["A社区"]["deadline_status"] == "late"


def test_handed_in_on_the_due_day_is_on_time(town):
    brand = BrandFactory(community=town.c, active=True)
    deadline_for(town.street, [town.c], dt.date(2025, 10, 31))
    PlanFactory(brand=brand, version=1, year=2025, status=BrandPlan.Status.SUBMITTED, submitted_at=at(2025, 10, 31, 23))
    row = board(town, dt.date(2025, 11, 5))["C社区"]
    assert (row["plan"]["status"], row["deadline_status"], row["days_left"]) == ("submitted", "on_time", -5)
    # The board of another year knows nothing of this one's plans.
    other = selectors.brand_board(community_ids=[town.c.pk], year=2026, today=dt.date(2025, 11, 5))[0]
    assert (other.plan, other.deadline_status) == (None, "no_deadline")


def test_a_published_brand_is_shown_before_a_newer_draft(town):
    BrandFactory(community=town.a, name="新品牌草稿")
    assert board(town, dt.date(2025, 6, 1))["A社区"]["brand"]["name"] == "岳阳楼下党旗红"


def test_board_endpoint(town, as_user):
    response = as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/brand-board/", {"year": 2025})
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert body["street"] == {"id": town.street.pk, "name": "岳阳楼街道"}
    assert (body["year"], body["today"]) == (2025, today.isoformat())
    assert [row["community"]["name"] for row in body["communities"]] == ["A社区", "B社区", "C社区"]
    assert body["communities"][1]["days_left"] == (dt.date(2025, 6, 30) - today).days
    assert body["summary"] == {"no_deadline": 1, "pending": 0, "overdue": 1, "on_time": 0, "late": 1}
    # This year, by default: no deadlines set for it.
    default = as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/brand-board/").json()
    assert default["year"] == today.year


@pytest.mark.parametrize("who,status", [("staff_a", 403), ("resident", 403), ("liaison", 403), ("other_admin", 404)])
def test_board_scope(town, as_user, api, who, status):
    response = as_user(getattr(town, who)).get(f"/api/v1/streets/{town.street.pk}/brand-board/")
    assert response.status_code == status
    assert api.get(f"/api/v1/streets/{town.street.pk}/brand-board/").status_code == 401


@pytest.mark.parametrize("year", ["1999", "abc", "20255"])
def test_board_bad_year(town, as_user, year):
    response = as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/brand-board/", {"year": year})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "year" in response.json()["fields"]


BOARD_HEADERS = [
    "社区",
    "品牌",
    "品牌状态",
    "方案版本",
    "方案状态",
    "截止日期",
    "剩余天数",
    "提交情况",
    "提交时间",
    "活动场次",
    "参与人数",
    "签到人次",
    "志愿服务时长(小时)",
    "荣誉",
]


def test_board_workbook_cell_by_cell(town, as_user):
    response = as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/brand-board/export/", {"year": 2025})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    days = (dt.date(2025, 6, 30) - timezone.localdate()).days

    def row(number):
        return [sheet.cell(row=number, column=c).value for c in range(1, len(BOARD_HEADERS) + 1)]

    assert sheet.title == "品牌看板"
    assert sheet["A1"].value == "岳阳楼街道 2025年 一社区一品牌看板"
    assert row(2) == BOARD_HEADERS
    assert sheet.freeze_panes == "A3"
    assert row(3) == [
        "A社区", "岳阳楼下党旗红", "已发布", 2, "已通过", "2025-06-30", days, "逾期提交", "2025-07-05",
        2, 4, 5, 5, "市级·市级党建品牌; 区级·先进基层党组织",
    ]  # fmt: skip
    assert row(4) == [
        "B社区", "B社区品牌", "草稿", 1, "草稿", "2025-06-30", days, "已逾期", None, 0, 0, 0, 0, None
    ]  # fmt: skip
    assert row(5) == ["C社区", None, "未创建", None, "未编制", None, None, "未设截止日期", None, 0, 0, 0, 0, None]
    assert sheet.max_row == 5
    assert as_user(town.staff_a).get(f"/api/v1/streets/{town.street.pk}/brand-board/?format=xlsx").status_code == 403
