"""The attendance ledger, its Excel export, the lists' cost, and attendance per member and period."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from backend.accounts.models import PersonalDataAccess
from backend.activities import selectors, services
from backend.activities.exports import HEADER_ROW, HEADERS
from backend.activities.models import Activity, CheckIn, Enrollment, LeaveRequest
from backend.core.periods import parse_period
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, image_upload, party_member
from tests.xlsx import HOSTILE, assert_no_formulas

pytestmark = pytest.mark.django_db


def phone_check_in(activity, user, *, kind="in", at=None, distance=12, inside=True):
    return CheckIn.objects.create(
        activity=activity,
        user=user,
        kind=kind,
        at=at or timezone.now(),
        client_id=uuid.uuid4(),
        distance_m=distance,
        inside=inside,
    )


@pytest.fixture
def meeting(community):
    """A branch meeting (三会一课) that ended an hour ago, with a mixed crowd."""
    now = timezone.now()
    branch = factories.OrganizationFactory(community=community)
    activity = ActivityFactory(
        community=community,
        title="第一党支部党员大会",
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
        audience=Activity.Audience.BRANCH,
        branch=branch,
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
    )
    staff = factories.staff_of(community)
    people = {
        name: party_member(organization=branch, user=factories.UserFactory(real_name=name)).user
        for name in ("张三", "李四", "王五", "赵六")
    }
    walk_in = factories.UserFactory(real_name="钱七", community=community)
    phone_check_in(activity, people["张三"], at=now - timedelta(hours=3, minutes=-2))
    phone_check_in(activity, people["张三"], kind="out", at=now - timedelta(hours=1, minutes=-5))
    CheckIn.objects.create(
        activity=activity,
        user=people["李四"],
        kind="in",
        at=now - timedelta(hours=2, minutes=50),
        manual=True,
        reason="无智能手机",
        recorded_by=staff,
    )
    LeaveRequest.objects.create(
        activity=activity,
        user=people["王五"],
        reason="出差",
        status=LeaveRequest.Status.APPROVED,
        decided_by=staff,
        decided_at=now - timedelta(days=1),
    )
    phone_check_in(activity, walk_in, at=now - timedelta(hours=2, minutes=55), distance=230, inside=False)
    return activity, staff, people, walk_in


def test_the_ledger_says_how_everyone_stands(meeting):
    activity, _staff, _people, walk_in = meeting
    ledger = selectors.attendance_ledger(activity)
    by_name = {row.real_name: row for row in ledger.rows}
    assert ledger.closed
    assert by_name["张三"].attendance == "present" and by_name["张三"].checked_out_at is not None
    assert by_name["李四"].attendance == "present" and by_name["李四"].check_in_manual
    assert by_name["王五"].attendance == "on_leave"
    assert by_name["赵六"].attendance == "absent"  # a branch member, no leave, no check-in
    assert by_name["钱七"].attendance == "present" and not by_name["钱七"].expected
    assert ledger.counts == {
        "enrolled": 0,
        "waitlisted": 0,
        "checked_in": 3,
        "checked_out": 1,
        "on_leave": 1,
        "absent": 1,
        "expected": 4,
    }
    assert all(row.phone and "****" in row.phone for row in ledger.rows)
    assert walk_in.pk in {row.user_id for row in ledger.rows}


def test_nobody_is_absent_before_check_in_closes(community):
    activity = ActivityFactory(community=community)
    enrol(activity)
    ledger = selectors.attendance_ledger(activity)
    assert not ledger.closed
    assert [row.attendance for row in ledger.rows] == ["pending"]
    assert ledger.counts["absent"] == 0


def test_staff_read_the_ledger_and_the_read_is_audited(as_user, meeting):
    activity, staff, _people, _walk_in = meeting
    response = as_user(staff).get(f"/api/v1/activities/{activity.pk}/attendance/?page_size=3")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 5 and len(data["results"]) == 3 and data["next"]
    assert data["closed"] is True and data["counts"]["absent"] == 1
    assert data["results"][0]["phone"].count("*") == 4
    audited = set(
        PersonalDataAccess.objects.filter(actor=staff, what="activity_attendance").values_list("subject_id", flat=True)
    )
    assert audited == {row["user_id"] for row in data["results"]}


def test_members_cannot_read_the_ledger(as_user, meeting):
    activity, _staff, people, _walk_in = meeting
    assert as_user(people["张三"]).get(f"/api/v1/activities/{activity.pk}/attendance/").status_code == 404
    assert as_user(people["张三"]).get(f"/api/v1/activities/{activity.pk}/attendance/export/").status_code == 404


def test_the_excel_ledger(as_user, meeting):
    activity, staff, _people, _walk_in = meeting
    response = as_user(staff).get(f"/api/v1/activities/{activity.pk}/attendance/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet.title == "签到台账"
    assert sheet["A1"].value == "第一党支部党员大会 签到台账"
    assert "应到 4 人" in sheet["A3"].value and "实到 3 人" in sheet["A3"].value and "缺席 1 人" in sheet["A3"].value
    headers = [cell.value for cell in sheet[HEADER_ROW]]
    assert headers == [title for title, _width in HEADERS]
    assert headers[:3] == ["序号", "姓名", "手机号"]
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    rows = [
        dict(zip(headers, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=HEADER_ROW + 1)
    ]
    assert [row["序号"] for row in rows] == [1, 2, 3, 4, 5]
    by_name = {row["姓名"]: row for row in rows}
    assert by_name["张三"]["出勤情况"] == "出席" and by_name["张三"]["签到方式"] == "扫码签到"
    assert by_name["张三"]["签退时间"]
    assert by_name["李四"]["签到方式"] == "人工登记" and by_name["李四"]["备注"] == "无智能手机"
    assert by_name["王五"]["出勤情况"] == "请假" and "出差" in by_name["王五"]["备注"]
    assert by_name["赵六"]["出勤情况"] == "缺席" and by_name["赵六"]["报名情况"] == "应参加"
    assert by_name["钱七"]["距活动地点(米)"] == 230 and by_name["钱七"]["签到方式"] == "扫码签到(定位偏差)"
    # Staff export the ledger to call people: every phone in full (the export is audited).
    assert all(row["手机号"] and "****" not in row["手机号"] for row in rows)


def test_the_export_answers_an_excel_accept_header(as_user, meeting):
    activity, staff, _people, _walk_in = meeting
    response = as_user(staff).get(
        f"/api/v1/activities/{activity.pk}/attendance/export/",
        HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert response.status_code == 200 and response.content[:2] == b"PK"


# Lists --------------------------------------------------------------------------------------------


def test_list_queries_do_not_grow_with_rows(as_user, community, django_assert_max_num_queries):
    staff = factories.staff_of(community)
    member = party_member(community)
    client = as_user(member.user)

    def add(n):
        for _ in range(n):
            activity = ActivityFactory(community=community, audience="party_members", brand=None)
            enrol(activity, member.user)
            enrol(activity)
            phone_check_in(activity, member.user)

    add(2)
    with django_assert_max_num_queries(50) as few:
        assert client.get("/api/v1/activities/").status_code == 200
    add(10)
    with django_assert_max_num_queries(len(few)) as many:
        response = client.get("/api/v1/activities/")
    assert response.status_code == 200
    assert len(many) == len(few)
    first = response.json()["results"][0]
    assert first["enrolled_count"] == 2 and first["checked_in_count"] == 1
    assert first["my_enrollment"] == "enrolled" and first["my_checked_in"] is True
    staff_client = as_user(staff)
    with django_assert_max_num_queries(len(few) + 2) as for_staff:
        assert staff_client.get("/api/v1/activities/").json()["count"] == 12
    add(3)
    with django_assert_max_num_queries(len(for_staff)):
        assert staff_client.get("/api/v1/activities/").json()["count"] == 15


def test_list_filters_search_ordering_and_mine(as_user, community, other_community):
    from backend.brands.models import Brand

    now = timezone.now()
    brand = Brand.objects.create(community=community, name="岳阳楼下党旗红")
    user = factories.UserFactory(community=community)
    lesson = ActivityFactory(
        community=community, title="书记讲党课", category="party_lesson", starts_at=now + timedelta(days=3), brand=brand
    )
    day = ActivityFactory(community=community, title="主题党日", starts_at=now + timedelta(days=1))
    elsewhere = ActivityFactory(community=other_community, title="别处的文体活动", category="culture_sports")
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    enrol(day, user)
    phone_check_in(lesson, user)
    client = as_user(user)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/activities/{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert set(ids("")) == {lesson.pk, day.pk, elsewhere.pk}  # drafts only to staff
    assert draft.pk not in ids("?status=draft")
    assert ids(f"?community={community.pk}&ordering=starts_at") == [day.pk, lesson.pk]
    assert ids("?category=party_lesson") == [lesson.pk]
    assert ids(f"?brand={brand.pk}") == [lesson.pk]
    after = (now + timedelta(days=2)).isoformat().replace("+", "%2B")
    assert ids(f"?starts_after={after}") == [lesson.pk]
    assert set(ids(f"?starts_before={after}")) == {day.pk, elsewhere.pk}
    assert ids("?search=党课") == [lesson.pk]
    assert ids("?mine=enrolled") == [day.pk]
    assert ids("?mine=attended") == [lesson.pk]
    assert client.get("/api/v1/activities/?mine=everything").status_code == 400


def test_detail_shows_photos_and_my_place(as_user, community):
    activity = ActivityFactory(community=community, capacity=1)
    enrol(activity)
    user = factories.UserFactory(community=community)
    services.enroll(activity=activity, by=user)
    staff = factories.staff_of(community)
    services.attach_photos(activity=activity, by=staff, uploads=[image_upload(staff)])
    data = as_user(user).get(f"/api/v1/activities/{activity.pk}/").json()
    assert data["my_enrollment"] == "waitlisted" and data["my_position"] == 1
    assert len(data["photos"]) == 1 and data["photos"][0]["image"]["url"].startswith("http")
    assert data["checkin_opens_at"] < data["starts_at"]


# Per member and period (for the reports) ------------------------------------------------------------


def test_attendance_leave_and_absence_per_member_and_period(meeting, community):
    activity, _staff, people, walk_in = meeting
    year = timezone.localtime(activity.starts_at).year
    figures = selectors.member_attendance(period=parse_period(str(year)), community_ids=[community.pk])
    assert figures[people["张三"].pk].as_counts() == {"attended": 1, "on_leave": 0, "absent": 0}
    assert figures[people["王五"].pk].as_counts() == {"attended": 0, "on_leave": 1, "absent": 0}
    assert figures[people["赵六"].pk].as_counts() == {"attended": 0, "on_leave": 0, "absent": 1}
    assert figures[walk_in.pk].as_counts() == {"attended": 1, "on_leave": 0, "absent": 0}
    only = selectors.member_attendance(
        period=parse_period("all"),
        user_ids=[people["赵六"].pk, factories.UserFactory().pk],
        categories=Activity.MEETING_CATEGORIES,
    )
    assert [record.as_counts()["absent"] for record in only.values()] == [1, 0]
    assert (
        selectors.member_attendance(period=parse_period(str(year - 5)), user_ids=[walk_in.pk])[walk_in.pk].attended
        == set()
    )


def test_enrolled_but_missing_counts_as_absent(community):
    now = timezone.now()
    activity = ActivityFactory(
        community=community, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1)
    )
    missing = enrol(activity).user
    waiting = enrol(activity, status=Enrollment.Status.WAITLISTED).user
    figures = selectors.member_attendance(period=parse_period("all"), user_ids=[missing.pk, waiting.pk])
    assert figures[missing.pk].absent == {activity.pk}
    assert figures[waiting.pk].absent == set()


def test_the_ledger_takes_the_members_phone_when_the_account_has_none(meeting):
    activity, _staff, people, _walk_in = meeting
    from backend.members.models import PartyMember

    member = PartyMember.objects.get(user=people["赵六"])
    member.user.phone = None
    member.user.save(update_fields=["phone"])
    full = {row.user_id: row.phone for row in selectors.attendance_ledger(activity, full_phones=True).rows}
    assert full[member.user_id] == member.phone


def test_the_excel_ledger_writes_names_and_reasons_as_text(as_user, meeting):
    activity, staff, people, _walk_in = meeting
    people["张三"].real_name = HOSTILE[0]
    people["张三"].save(update_fields=["real_name"])
    people["李四"].real_name = HOSTILE[3]
    people["李四"].save(update_fields=["real_name"])
    response = as_user(staff).get(f"/api/v1/activities/{activity.pk}/attendance/export/")
    assert response.status_code == 200
    texts = assert_no_formulas(response.content)
    assert HOSTILE[0] in texts and HOSTILE[3] in texts
