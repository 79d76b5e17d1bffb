"""Ledger lists export the rows chosen as Excel: only rows in scope, masked as the list masks them,
and an export of members' details is in the audit log like a page of the list."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from openpyxl import load_workbook

from backend.accounts.models import PersonalDataAccess, Role
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.members.factories import registered_member
from tests.xlsx import HOSTILE, assert_no_formulas

pytestmark = pytest.mark.django_db


def export(client, changelist: str, pks) -> list[list]:
    response = client.post(
        reverse(changelist), {"action": "export_xlsx", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "index": "0"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_member_export_is_scoped_has_full_phones_and_is_audited(client, community, other_community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    mine = registered_member(community, real_name="张三", phone="13800000001")
    theirs = registered_member(other_community, real_name="李四", phone="13800000002")
    client.force_login(secretary)
    rows = export(client, "admin:members_partymember_changelist", [mine.pk, theirs.pk])
    assert rows[0][:2] == ["姓名", "联系电话"]
    assert [row[0] for row in rows[1:]] == ["张三"]
    # The secretary's call list: the full phone, the list itself still masks it.
    assert rows[1][1] == "13800000001"
    assert "13800000001" not in client.get(reverse("admin:members_partymember_changelist")).content.decode()
    assert PersonalDataAccess.objects.filter(
        actor=secretary, subject=mine.user, what="party_member", path__contains="partymember"
    ).exists()
    assert not PersonalDataAccess.objects.filter(subject=theirs.user).exists()


def test_activity_ledger_export_has_chinese_headers_and_labels(client, community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    activity = ActivityFactory(community=community, title="七一主题党日")
    client.force_login(secretary)
    rows = export(client, "admin:activities_activity_changelist", [activity.pk])
    assert "标题" in rows[0] and "状态" in rows[0]
    assert "七一主题党日" in rows[1] and "已发布" in rows[1]


def test_lists_that_are_not_ledgers_offer_no_export(client, community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    client.force_login(secretary)
    page = client.get(reverse("admin:communities_grid_changelist")).content.decode()
    assert "export_xlsx" not in page
    page = client.get(reverse("admin:communities_estate_changelist")).content.decode()
    assert "export_xlsx" in page


def test_ledger_exports_write_user_text_as_text(client, community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    activity = ActivityFactory(community=community, title=HOSTILE[2], place=HOSTILE[0])
    client.force_login(secretary)
    response = client.post(
        reverse("admin:activities_activity_changelist"),
        {"action": "export_xlsx", ACTION_CHECKBOX_NAME: [str(activity.pk)], "index": "0"},
    )
    assert response.status_code == 200
    assert HOSTILE[2] in assert_no_formulas(response.content)


def test_member_export_masks_phones_for_a_unit_liaison(client, community):
    """A unit liaison is not staff: her export of her unit's members masks phones as the list does."""
    from tests.members.factories import registered_unit

    liaison = factories.UserFactory()
    unit = registered_unit(community, liaison=liaison)
    member = registered_member(community, organization=unit.organization, real_name="王五", phone="13912340005")
    client.force_login(liaison)
    rows = export(client, "admin:members_partymember_changelist", [member.pk])
    assert [row[0] for row in rows[1:]] == ["王五"]
    assert rows[0][1] == "联系电话"
    assert rows[1][1] == "139****0005"


def test_member_export_full_phone_only_for_rows_in_staff_scope(client, community, other_community):
    """Staff of one community who is also the liaison of a unit registered elsewhere: full phones for
    her community's members, masked ones for the unit's members she sees only as its liaison."""
    from tests.members.factories import registered_unit

    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    unit = registered_unit(other_community, liaison=secretary)
    mine = registered_member(community, real_name="张三", phone="13800000001")
    units = registered_member(other_community, organization=unit.organization, real_name="赵六", phone="13800000006")
    client.force_login(secretary)
    rows = export(client, "admin:members_partymember_changelist", [mine.pk, units.pk])
    phones = {row[0]: row[1] for row in rows[1:]}
    assert phones == {"张三": "13800000001", "赵六": "138****0006"}
