"""五个全覆盖 against the town's hand count, per community, per street, as JSON and as Excel."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from backend.appeals.selectors import Ratio
from backend.reports import selectors

from .conftest import ON

pytestmark = pytest.mark.django_db


def ratios(coverage: selectors.Coverage) -> dict[str, tuple[int, int]]:
    return {
        name: (getattr(coverage, name).numerator, getattr(coverage, name).denominator)
        for name in (
            "party_organization",
            "property_company_party_organization",
            "owners_committee",
            "property_service",
            "member_registration",
            "unit_registration",
            "red_property",
        )
    }


# A: a1 (organisation, P1, red, committee), a2 (P2, committee expired), a3 (no service, small, committee not
# required), a4 (P1, committee required by override, none), a5 (red but no service any more, 150 households).
# Members: m1 (lives A, registered A), m2 (lives A, registered B), m3 (lives A, applying to A), m5 (lives
# A, withdrew), m6 (lives A, never registered), m7 (registered with A, no home chosen). Registered with A:
# m1, m7; known to live in A: those two, the applicant m3 and m2 (registered elsewhere, lives here); m5
# and m6 are no members of anything. Units: U1 approved, U2 pending.
EXPECTED_A = {
    "party_organization": (1, 5),
    "property_company_party_organization": (1, 2),
    "owners_committee": (1, 4),
    "property_service": (3, 5),
    "member_registration": (2, 4),
    "unit_registration": (1, 2),
    "red_property": (1, 3),
}
# B: b1 (organisation, no service, committee in office); m2 and m4 registered there (m4 lives there); U2 approved,
# U3's filing refused (not co-building).
EXPECTED_B = {
    "party_organization": (1, 1),
    "property_company_party_organization": (0, 0),
    "owners_committee": (1, 1),
    "property_service": (0, 1),
    "member_registration": (2, 2),
    "unit_registration": (1, 1),
    "red_property": (0, 0),
}
EXPECTED_STREET = {
    "party_organization": (2, 6),
    "property_company_party_organization": (1, 2),  # P1 and P2, each once
    "owners_committee": (2, 5),
    "property_service": (3, 6),
    "member_registration": (4, 5),  # each member once: m2 is registered in B and lives in A
    "unit_registration": (2, 3),
    "red_property": (1, 3),
}


def test_each_community_against_the_hand_count(town):
    coverage = selectors.coverage_by_community([town.a.pk, town.b.pk, town.c.pk], on=ON)
    assert ratios(coverage[town.a.pk]) == EXPECTED_A
    assert ratios(coverage[town.b.pk]) == EXPECTED_B
    assert ratios(coverage[town.c.pk]) == dict.fromkeys(EXPECTED_A, (0, 0))
    # Registered with the community wherever they live: m1 and m7 with A; m2 and m4 with B.
    assert coverage[town.a.pk].registered_members == 2
    assert coverage[town.b.pk].registered_members == 2
    assert coverage[town.a.pk].owners_committee.rate == 0.25
    assert coverage[town.c.pk].owners_committee.rate is None


def test_committees_are_counted_on_the_day_asked(town):
    import datetime as dt

    # On 1 June 2024 a2's committee was still in office.
    coverage = selectors.coverage_by_community([town.a.pk], on=dt.date(2024, 6, 1))
    assert coverage[town.a.pk].owners_committee == Ratio(2, 4)


def test_street_rolls_up_its_communities(town):
    street = selectors.street_coverage(town.street, on=ON)
    assert [row.community.pk for row in street.communities] == [town.a.pk, town.b.pk, town.c.pk]
    assert ratios(street.total) == EXPECTED_STREET
    assert street.total.registered_members == 4


def test_community_endpoint(town, as_user):
    response = as_user(town.staff_a).get(f"/api/v1/communities/{town.a.pk}/coverage/")
    assert response.status_code == 200
    body = response.json()
    assert body["community"] == {"id": town.a.pk, "name": "A社区", "street": town.street.pk}
    for name, (numerator, denominator) in EXPECTED_A.items():
        assert body[name]["numerator"] == numerator and body[name]["denominator"] == denominator
    assert body["member_registration"]["rate"] == 0.5
    assert body["member_registration"]["unknown"] is None
    assert body["red_property"]["rate"] == 0.3333
    assert body["registered_members"] == 2
    # The street's admin reads it too.
    assert as_user(town.admin).get(f"/api/v1/communities/{town.a.pk}/coverage/").status_code == 200


@pytest.mark.parametrize("who", ["staff_b", "staff_d", "other_admin"])
def test_other_staff_get_404(town, as_user, who):
    response = as_user(getattr(town, who)).get(f"/api/v1/communities/{town.a.pk}/coverage/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_non_staff_and_anonymous(town, as_user, api):
    assert as_user(town.resident).get(f"/api/v1/communities/{town.a.pk}/coverage/").json()["code"] == (
        "permission_denied"
    )
    assert as_user(town.liaison).get(f"/api/v1/communities/{town.a.pk}/coverage/").status_code == 403
    assert api.get(f"/api/v1/communities/{town.a.pk}/coverage/").status_code == 401
    assert as_user(town.admin).get("/api/v1/communities/999999/coverage/").status_code == 404


def _sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(response.content)).active


HEADERS = [
    "社区",
    "小区数",
    "已建党组织小区",
    "小区党组织覆盖率",
    "在管物业企业",
    "已建党组织物业企业",
    "物业企业党组织覆盖率",
    "须成立业委会小区",
    "已成立业委会小区",
    "业委会覆盖率",
    "有物业服务小区",
    "物业服务覆盖率",
    "已知居住本社区的党员",
    "其中已在本社区报到",
    "党员双报到率",
    "共建单位",
    "已报到单位",
    "单位报到率",
    "红色物业小区",
    "红色物业覆盖率",
    "在本社区报到的党员",
]
ROW_A = ["A社区", 5, 1, 0.2, 2, 1, 0.5, 4, 1, 0.25, 3, 0.6, 4, 2, 0.5, 2, 1, 0.5, 1, 0.3333, 2]
ROW_B = ["B社区", 1, 1, 1, 0, 0, None, 1, 1, 1, 0, 0, 2, 2, 1, 1, 1, 1, 0, None, 2]
ROW_C = ["C社区", 0, 0, None, 0, 0, None, 0, 0, None, 0, None, 0, 0, None, 0, 0, None, 0, None, 0]
ROW_TOTAL = ["合计", 6, 2, 0.3333, 2, 1, 0.5, 5, 2, 0.4, 3, 0.5, 5, 4, 0.8, 3, 2, 0.6667, 1, 0.3333, 4]


def _values(sheet, row: int) -> list:
    return [sheet.cell(row=row, column=column).value for column in range(1, len(HEADERS) + 1)]


@pytest.mark.parametrize("suffix", ["export/", "?format=xlsx"])
def test_community_workbook_cell_by_cell(town, as_user, suffix):
    sheet = _sheet(as_user(town.staff_a).get(f"/api/v1/communities/{town.a.pk}/coverage/{suffix}"))
    assert sheet.title == "五个全覆盖"
    assert sheet["A1"].value.startswith("A社区 五个全覆盖 (截至 ")
    assert _values(sheet, 2) == HEADERS
    assert sheet.freeze_panes == "A3"
    assert _values(sheet, 3) == ROW_A
    assert sheet.cell(row=3, column=4).number_format == "0.00%"
    assert sheet.cell(row=4, column=1).value is None
    assert sheet.column_dimensions["A"].width == 16


def test_workbook_refusals_answer_json(town, as_user):
    response = as_user(town.staff_b).get(f"/api/v1/communities/{town.a.pk}/coverage/?format=xlsx")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_street_endpoint(town, as_user):
    response = as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/coverage/")
    assert response.status_code == 200
    body = response.json()
    assert [row["community"]["name"] for row in body["communities"]] == ["A社区", "B社区", "C社区"]
    for name, (numerator, denominator) in EXPECTED_STREET.items():
        assert (body["total"][name]["numerator"], body["total"][name]["denominator"]) == (numerator, denominator)
    assert body["communities"][1]["unit_registration"] == {
        "numerator": 1,
        "denominator": 1,
        "rate": 1.0,
        "unknown": None,
    }
    assert body["communities"][2]["member_registration"]["unknown"]["code"] == "no_known_members"
    assert body["communities"][2]["unit_registration"]["unknown"]["code"] == "no_units_filed"


@pytest.mark.parametrize("who,status", [("staff_a", 404), ("other_admin", 404), ("resident", 403), ("liaison", 403)])
def test_street_endpoint_scope(town, as_user, who, status):
    assert as_user(getattr(town, who)).get(f"/api/v1/streets/{town.street.pk}/coverage/").status_code == status


def test_street_workbook_cell_by_cell(town, as_user):
    sheet = _sheet(as_user(town.admin).get(f"/api/v1/streets/{town.street.pk}/coverage/export/"))
    assert sheet["A1"].value.startswith("岳阳楼街道 五个全覆盖")
    assert _values(sheet, 2) == HEADERS
    assert _values(sheet, 3) == ROW_A
    assert _values(sheet, 4) == ROW_B
    assert _values(sheet, 5) == ROW_C
    assert _values(sheet, 6) == ROW_TOTAL
    assert sheet.max_row == 6
