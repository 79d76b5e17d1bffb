"""Excel imports: a preview with each row's errors and nothing saved; confirm saves through the apps'
services; a secretary imports only into her own community (or her street's register)."""

from __future__ import annotations

import html
import re
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from backend.accounts.models import PersonalDataAccess, Role, User
from backend.communities.models import Estate
from backend.console.imports.kinds import UNREACHABLE_PHONE
from backend.members.models import MemberRegistration, PartyMember, PrivacyConsent
from backend.red_property.models import PropertyCompany, ResidentsCommittee
from tests import factories
from tests.members.factories import registered_member

pytestmark = pytest.mark.django_db


def sheet(rows: list[list]) -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return SimpleUploadedFile("台账.xlsx", out.getvalue())


@pytest.fixture
def secretary(community):
    return factories.staff_of(community, Role.COMMUNITY_SECRETARY)


def upload(client, kind: str, place, rows, **extra):
    return client.post(
        reverse("console-import", args=[kind]), {"place": place.pk, "file": sheet(rows), **extra}, follow=True
    )


def payload(response) -> str | None:
    found = re.search(r'name="payload" value="([^"]+)"', response.content.decode())
    return html.unescape(found.group(1)) if found else None


MEMBER_HEADER = [
    "姓名",
    "手机号",
    "党员类别",
    "组织关系所在党组织",
    "网格",
    "入党日期",
    "工作单位",
    "身份证号",
    "居住地址",
]


def test_members_preview_marks_the_bad_row_and_saves_nothing(client, community, secretary):
    factories.UnitOrganizationFactory(name="岳阳市自来水公司党支部")
    factories.GridFactory(community=community, name="第一网格")
    client.force_login(secretary)
    response = upload(
        client,
        "members",
        community,
        [
            MEMBER_HEADER,
            [
                "张三",
                "13800000001",
                "正式党员",
                "岳阳市自来水公司党支部",
                "第一网格",
                "2010-07-01",
                "自来水公司",
                "",
                "东湖雅苑",
            ],
            ["李四", "1380000", "党员", "不存在的党支部", "第九网格", "明天", "", "", ""],
        ],
        attested="on",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 行有错误" in page
    for message in (
        "手机号: 请输入有效的中国大陆手机号",
        "党员类别: 应为",
        "未找到“不存在的党支部”",
        "没有“第九网格”",
        "入党日期",
    ):
        assert message in page, message
    assert payload(response) is None  # no confirm while a row is wrong
    assert not PartyMember.objects.exists()
    assert not User.objects.filter(phone="13800000001").exists()
    assert not PrivacyConsent.objects.exists()


def test_members_import_registers_and_approves_through_the_services(client, community, secretary):
    organization = factories.UnitOrganizationFactory(name="岳阳市自来水公司党支部")
    client.force_login(secretary)
    rows = [
        MEMBER_HEADER,
        ["张三", "13800000001", "正式党员", "岳阳市自来水公司党支部", "", "2010/7/1", "自来水公司", "", ""],
        ["王五", 13800000002, "预备党员", "岳阳市自来水公司党支部", "", "", "", "", ""],
    ]
    preview = upload(client, "members", community, rows, attested="on")
    assert "全部 2 行检查无误" in preview.content.decode()
    assert not PartyMember.objects.exists()

    done = client.post(reverse("console-import", args=["members"]), {"payload": payload(preview)}, follow=True)
    assert done.status_code == 200
    assert "已导入 2 行" in done.content.decode()
    registrations = MemberRegistration.objects.filter(community=community).order_by("real_name")
    assert [(r.real_name, r.status, r.decided_by_id) for r in registrations] == [
        ("张三", MemberRegistration.Status.APPROVED, secretary.pk),
        ("王五", MemberRegistration.Status.APPROVED, secretary.pk),
    ]
    zhang = PartyMember.objects.get(real_name="张三")
    assert (zhang.organization, str(zhang.joined_on), zhang.user.phone) == (organization, "2010-07-01", "13800000001")
    # Each member's consent is on record, with the notice's version.
    assert PrivacyConsent.objects.filter(user=zhang.user).count() == 1
    # The member list read after it is audited as usual.
    client.get(reverse("admin:members_partymember_changelist"))
    assert PersonalDataAccess.objects.filter(actor=secretary, what="party_member").exists()


def test_members_need_the_paper_consent_attested(client, community, secretary):
    factories.UnitOrganizationFactory(name="某党支部")
    client.force_login(secretary)
    response = upload(client, "members", community, [MEMBER_HEADER, ["张三", "13800000001", "正式党员", "某党支部"]])
    assert "该字段是必填项" in response.content.decode()
    assert not PartyMember.objects.exists()


def test_a_secretary_cannot_import_into_another_community(client, community, other_community, secretary):
    client.force_login(secretary)
    response = upload(client, "estates", other_community, [["小区名称"], ["别人的小区"]])
    assert "选择一个有效的选项" in response.content.decode() or "Select a valid choice" in response.content.decode()
    assert not Estate.objects.filter(name="别人的小区").exists()


def test_a_tampered_confirmation_is_refused(client, community, secretary):
    client.force_login(secretary)
    preview = upload(client, "estates", community, [["小区名称", "户数"], ["东湖雅苑", 300]])
    token = payload(preview)
    forged = token.replace("东湖雅苑", "西湖雅苑") if "东湖雅苑" in token else token[:-2] + "xx"
    response = client.post(reverse("console-import", args=["estates"]), {"payload": forged}, follow=True)
    assert "预览已过期或无效" in response.content.decode()
    assert not Estate.objects.exists()

    # Nor does another user's preview confirm for someone else.
    other = factories.staff_of(community, Role.COMMUNITY_STAFF)
    client.force_login(other)
    response = client.post(reverse("console-import", args=["estates"]), {"payload": token}, follow=True)
    assert not Estate.objects.exists()


def test_estates_import(client, community, secretary):
    factories.GridFactory(community=community, name="第二网格")
    factories.EstateFactory(community=community, name="老街小区")
    client.force_login(secretary)
    rows = [
        ["小区名称", "地址", "户数", "有无物业", "网格"],
        ["东湖雅苑", "东湖路1号", 320, "有", "第二网格"],
        ["天润小区", "", "", "无", ""],
        ["老街小区", "", 10, "有", ""],
    ]
    preview = upload(client, "estates", community, rows)
    assert "该社区已有同名小区" in preview.content.decode()  # the service's own rule, per row
    assert payload(preview) is None
    preview = upload(client, "estates", community, rows[:3])
    client.post(reverse("console-import", args=["estates"]), {"payload": payload(preview)})
    east = Estate.objects.get(name="东湖雅苑")
    assert (east.households, east.has_property_service, east.grid.name) == (320, True, "第二网格")
    assert Estate.objects.get(name="天润小区").has_property_service is False


def test_property_companies_go_into_the_streets_register(client, street, community, secretary):
    client.force_login(secretary)
    rows = [
        ["企业名称", "统一社会信用代码", "联系电话"],
        ["岳阳某物业服务有限公司", "91350100M000100Y43", "0730-8888888"],
        ["代码有误的公司", "123", ""],
    ]
    preview = upload(client, "property-companies", street, rows)
    page = preview.content.decode()
    assert "1 行有错误" in page and "统一社会信用代码" in page
    assert not PropertyCompany.objects.exists()
    other_street = factories.StreetFactory()
    refused = upload(client, "property-companies", other_street, rows[:2])
    assert payload(refused) is None and not PropertyCompany.objects.exists()


def test_residents_committee_rows_make_one_committee_per_term(client, community, secretary):
    client.force_login(secretary)
    header = ["任期开始", "任期结束", "姓名", "职务", "联系电话", "是否党员", "交叉任职"]
    rows = [
        header,
        ["2024-01-01", "2028-12-31", "李主任", "主任", "13900000001", "是", "是"],
        ["2024-01-01", "2028-12-31", "赵委员", "委员", "", "否", ""],
    ]
    preview = upload(client, "residents-committees", community, rows)
    assert "全部 2 行检查无误" in preview.content.decode()
    client.post(reverse("console-import", args=["residents-committees"]), {"payload": payload(preview)})
    committee = ResidentsCommittee.objects.get(community=community)
    assert sorted(committee.members.values_list("name", "role")) == [("李主任", "director"), ("赵委员", "member")]

    # Two directors in one term: the service's rule, shown on both rows of that committee.
    rows = [header, ["2030-01-01", "2034-12-31", "甲", "主任"], ["2030-01-01", "2034-12-31", "乙", "主任"]]
    preview = upload(client, "residents-committees", community, rows)
    assert preview.content.decode().count("只能有一名主任") == 2
    assert ResidentsCommittee.objects.count() == 1


def test_the_template_has_the_columns_and_a_wrong_file_is_refused(client, community, secretary):
    client.force_login(secretary)
    response = client.get(reverse("console-import", args=["members"]) + "?template=1")
    book = load_workbook(BytesIO(response.content))
    assert book.active["A1"].value.startswith("填写说明")
    assert [cell.value for cell in book.active[2]] == MEMBER_HEADER

    bad = client.post(
        reverse("console-import", args=["estates"]),
        {"place": community.pk, "file": SimpleUploadedFile("台账.xlsx", b"not a workbook")},
    )
    assert "无法读取该文件" in bad.content.decode()
    missing = upload(client, "estates", community, [["地址"], ["东湖路"]])
    assert "第一行缺少列: 小区名称" in missing.content.decode()


def test_imports_are_for_staff(client, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    client.force_login(worker)
    assert client.get(reverse("console-import", args=["estates"])).status_code == 403
    assert client.get(reverse("console-import", args=["nothing"])).status_code == 404


def _filled_template(client, kind: str, rows: list[list]) -> SimpleUploadedFile:
    """The downloaded template with rows typed under its headers, as a secretary fills it."""
    book = load_workbook(BytesIO(client.get(reverse("console-import", args=[kind]) + "?template=1").content))
    for line, row in enumerate(rows, start=3):
        for column, value in enumerate(row, start=1):
            book.active.cell(row=line, column=column, value=value)
    out = BytesIO()
    book.save(out)
    return SimpleUploadedFile("模板.xlsx", out.getvalue())


def test_the_template_keeps_ids_and_phones_as_text_and_offers_dropdowns(client, community, secretary):
    client.force_login(secretary)
    book = load_workbook(BytesIO(client.get(reverse("console-import", args=["members"]) + "?template=1").content))
    sheet = book.active
    column = {cell.value: cell.column_letter for cell in sheet[2]}
    for header in ("身份证号", "手机号"):
        assert sheet[f"{column[header]}3"].number_format == "@", header
    assert sheet[f"{column['姓名']}3"].number_format == "General"
    lists = {str(rule.sqref): rule.formula1 for rule in sheet.data_validations.dataValidation}
    assert lists[f"{column['党员类别']}3:{column['党员类别']}502"] == '"正式党员,预备党员"'
    assert sheet[f"{column['姓名']}2"].comment.text == "例: 张三"


def test_three_bad_rows_are_reported_at_once_with_every_error_of_each(client, community, secretary):
    from tests.members.factories import registered_member

    factories.UnitOrganizationFactory(name="岳阳市自来水公司党支部")
    taken = registered_member(community, real_name="王五")
    client.force_login(secretary)
    good = ["张三", "13800000001", "正式党员", "岳阳市自来水公司党支部", "", "2010-07-01", "", "", ""]
    rows = [
        good,
        ["李四", "1380000", "党员", "岳阳市自来水公司党支部", "", "", "", "43060219900101123", ""],
        ["", "13800000003", "预备党员", "不存在的党支部", "", "明天", "", "", ""],
        ["王五", taken.user.phone, "正式党员", "岳阳市自来水公司党支部", "", "", "", "", ""],
    ]
    response = client.post(
        reverse("console-import", args=["members"]),
        {"place": community.pk, "file": _filled_template(client, "members", rows), "attested": "on"},
        follow=True,
    )
    page = response.content.decode()
    assert "3 行有错误" in page
    for message in (
        "手机号: 请输入有效的中国大陆手机号",
        "党员类别: 应为",
        "身份证号: 身份证号应为18位",
        "姓名: 必填",
        "未找到“不存在的党支部”",
        "入党日期: 日期格式应为",
        "该党员已有待审核或已通过的报到",
    ):
        assert message in page, message
    assert "您" not in page
    # The sheet's own row numbers: the template's note and header rows come first.
    assert re.findall(r'class="row-error" data-row="(\d+)"', page) == ["4", "5", "6"]
    assert payload(response) is None
    assert not PartyMember.objects.filter(real_name__in=["张三", "李四"]).exists()


def test_an_id_number_excel_turned_into_a_number_is_said_so(client, community, secretary):
    factories.UnitOrganizationFactory(name="岳阳市自来水公司党支部")
    client.force_login(secretary)
    row = ["张三", "13800000001", "正式党员", "岳阳市自来水公司党支部", "", "", "", float("430602199001011234"), ""]
    page = upload(client, "members", community, [MEMBER_HEADER, row], attested="on").content.decode()
    assert "Excel 把身份证号变成了数字" in page


# Reaching existing accounts by phone


def _member_rows(*rows: list) -> list[list]:
    return [MEMBER_HEADER, *[[*row, "", "", "", "", ""] for row in rows]]


def test_a_member_import_reaches_no_account_outside_the_secretarys_scope(client, community, other_community, secretary):
    """A resident of another community, an applicant there and that community's own secretary:
    none is renamed, re-classified or registered here, and each row gets the same neutral answer."""
    factories.UnitOrganizationFactory(name="某党支部")
    resident = factories.UserFactory(phone="13912340003", real_name="真名", community=other_community)
    applicant = registered_member(other_community, real_name="申请人", phone="13912340004")
    applicant.user.phone = "13912340004"
    applicant.user.save(update_fields=["phone"])
    applicant.registrations.update(status=MemberRegistration.Status.PENDING)
    their_secretary = factories.staff_of(other_community, Role.COMMUNITY_SECRETARY)
    their_secretary.phone, their_secretary.real_name = "13800000002", "对方书记"
    their_secretary.save(update_fields=["phone", "real_name"])
    client.force_login(secretary)
    rows = _member_rows(
        ["篡改名字", "13912340003", "预备党员", "某党支部"],
        ["篡改名字", "13912340004", "预备党员", "某党支部"],
        ["书记", "13800000002", "正式党员", "某党支部"],
    )
    page = upload(client, "members", community, rows, attested="on").content.decode()
    assert page.count(UNREACHABLE_PHONE) == 3
    assert "已有待审核或已通过的报到" not in page
    resident.refresh_from_db()
    their_secretary.refresh_from_db()
    applicant.refresh_from_db()
    assert (resident.real_name, their_secretary.real_name) == ("真名", "对方书记")
    assert (applicant.real_name, applicant.status) == ("申请人", PartyMember.Status.FULL)
    assert not PartyMember.objects.filter(user__in=[resident, their_secretary]).exists()
    assert not MemberRegistration.objects.filter(community=community).exists()


def test_a_member_import_reaches_an_account_living_in_her_community(client, community, secretary):
    factories.UnitOrganizationFactory(name="某党支部")
    resident = factories.UserFactory(phone="13912340003", real_name="", community=community)
    client.force_login(secretary)
    rows = _member_rows(["张三", "13912340003", "正式党员", "某党支部"])
    preview = upload(client, "members", community, rows, attested="on")
    assert "全部 1 行检查无误" in preview.content.decode()
    client.post(reverse("console-import", args=["members"]), {"payload": payload(preview)}, follow=True)
    member = PartyMember.objects.get(user=resident)
    assert member.registrations.get().status == MemberRegistration.Status.APPROVED
    assert User.objects.filter(phone="13912340003").count() == 1


def test_a_member_import_never_renames_or_reclassifies_a_party_record(client, community, secretary):
    """Someone of her community with a party record (here a withdrawn registration): a row that
    changes the record's name or status is refused; one that matches it files the registration."""
    organization = factories.UnitOrganizationFactory(name="某党支部")
    member = registered_member(community, organization=organization, real_name="张三", phone="13912340003")
    member.user.phone, member.user.community = "13912340003", community
    member.user.save(update_fields=["phone", "community"])
    member.registrations.update(status=MemberRegistration.Status.WITHDRAWN)
    client.force_login(secretary)
    for row in (["李四", "13912340003", "正式党员", "某党支部"], ["张三", "13912340003", "预备党员", "某党支部"]):
        page = upload(client, "members", community, _member_rows(row), attested="on").content.decode()
        assert UNREACHABLE_PHONE in page, row
    member.refresh_from_db()
    assert (member.real_name, member.status) == ("张三", PartyMember.Status.FULL)
    rows = _member_rows(["张三", "13912340003", "正式党员", "某党支部"])
    preview = upload(client, "members", community, rows, attested="on")
    assert "全部 1 行检查无误" in preview.content.decode()


def test_blank_rows_count_towards_the_bound_and_a_bloated_file_is_refused(monkeypatch):
    # A few kilobytes of rows holding a space each cost as much to skip as to read.
    from django import forms

    from backend.console.imports import views
    from backend.console.imports.kinds import IMPORTS

    kind = IMPORTS["estates"]
    headers = [column.header for column in kind.columns]
    blank = sheet([headers] + [[" "] for _ in range(views.IMPORT_MAX_LINES + 10)]).read()
    with pytest.raises(forms.ValidationError) as refused:
        views.read_sheet(blank, kind)
    assert "行数过多" in str(refused.value)
    # A file, or one sheet of it, that unpacks to more than its bound is refused before parsing
    # (openpyxl reads a sheet's whole XML before its first row).
    small = sheet([headers, ["东湖雅苑"] * len(headers)]).read()
    for bound, value in (("IMPORT_MAX_UNPACKED", 4096), ("IMPORT_MAX_SHEET_XML", 256)):
        with monkeypatch.context() as patched:
            patched.setattr(views, bound, value)
            with pytest.raises(forms.ValidationError) as bloated:
                views.read_sheet(small, kind)
        assert "过大" in str(bloated.value), bound


def test_columns_past_the_bound_are_not_read():
    # A sheet claiming thousands of columns is padded to them on every line otherwise.
    from django import forms

    from backend.console.imports import views
    from backend.console.imports.kinds import IMPORTS

    kind = IMPORTS["estates"]
    headers = [column.header for column in kind.columns]
    far = [None] * views.IMPORT_MAX_COLUMNS + headers
    with pytest.raises(forms.ValidationError) as refused:
        views.read_sheet(sheet([far, [None] * views.IMPORT_MAX_COLUMNS + ["东湖雅苑"]]).read(), kind)
    assert "缺少列" in str(refused.value)
    assert views.read_sheet(sheet([headers, ["东湖雅苑"]]).read(), kind)
