"""Every endpoint: the happy path, bad input (4xx in the error format, nothing written), scope, masking."""

import datetime as dt
from decimal import Decimal

import pytest

from backend.communities.models import Estate
from backend.red_property.models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    EstateAssessment,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    OwnersCommittee,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
)
from tests import factories

from .factories import (
    AssessmentItemFactory,
    AssessmentStandardFactory,
    EstateAssessmentFactory,
    FollowUpFactory,
    GovernanceFactory,
    JointMeetingFactory,
    OwnersCommitteeFactory,
    OwnersCommitteeMemberFactory,
    PropertyCompanyFactory,
    ResidentsCommitteeFactory,
    SelfGovernanceGroupFactory,
    SelfGovernanceMeetingFactory,
    credit_code,
    score,
)

pytestmark = pytest.mark.django_db

GOVERNANCE = "/api/v1/red-property/estates/"
COMPANIES = "/api/v1/property-companies/"
OWNERS = "/api/v1/owners-committees/"
RESIDENTS = "/api/v1/residents-committees/"
MEETINGS = "/api/v1/joint-meetings/"
FOLLOW_UPS = "/api/v1/joint-meetings/follow-ups/"
OVERDUE = "/api/v1/joint-meetings/follow-ups/overdue/"
STANDARDS = "/api/v1/red-property/assessment-standards/"
ITEMS = "/api/v1/red-property/assessment-items/"
ASSESSMENTS = "/api/v1/red-property/assessments/"
GROUPS = "/api/v1/red-property/self-governance/"
GROUP_MEETINGS = "/api/v1/red-property/self-governance-meetings/"

ALL_SIDES = [
    {"side": "owners", "name": "业委会主任 李", "title": "巴陵苑业委会主任"},
    {"side": "property", "name": "项目经理 张"},
    {"side": "party", "name": "社区书记 王"},
]


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"]
    if field is not None:
        assert field in body["fields"], body
    return body


# Governance -------------------------------------------------------------------------------------


def test_governance_list_shows_every_estate_in_scope(as_user, secretary, estate, community, other_community, clock):
    clock(2026, 6, 1, 10, 0)
    company = PropertyCompanyFactory(street=community.street, name="巴陵物业")
    org = factories.OrganizationFactory(community=community, name="巴陵苑党支部")
    GovernanceFactory(
        estate=estate,
        property_company=company,
        party_organization=org,
        is_red_property=True,
        red_property_since=dt.date(2025, 7, 1),
    )
    committee = OwnersCommitteeFactory(estate=estate, term_start=dt.date(2024, 1, 1), term_end=dt.date(2028, 12, 31))
    AssessmentStandardFactory(street=community.street, year=2025, demonstration_threshold=Decimal("8"))
    assessment = EstateAssessmentFactory(estate=estate, year=2025)
    score(assessment, AssessmentItemFactory(street=community.street, year=2025), "4.5")
    score(assessment, AssessmentItemFactory(street=community.street, year=2025), "4")
    bare = factories.EstateFactory(community=community, name="新世苑家属区", households=64, has_property_service=False)
    factories.EstateFactory(community=other_community)

    response = as_user(secretary).get(GOVERNANCE)
    assert response.status_code == 200, response.json()
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {estate.id, bare.id}
    row = rows[estate.id]
    assert row["estate"] == estate.id and row["name"] == "巴陵苑" and row["community"] == community.id
    assert row["property_company"] == company.id and row["property_company_name"] == "巴陵物业"
    assert row["has_party_organization"] is True and row["party_organization"] == org.id
    assert row["owners_committee"] == committee.id and row["owners_committee_required"] is True
    assert row["is_red_property"] is True and row["red_property_since"] == "2025-07-01"
    assert row["assessment_year"] == 2025 and Decimal(row["assessment_total"]) == Decimal("8.5")
    assert row["is_demonstration"] is True
    empty = rows[bare.id]
    assert empty["property_company"] is None and empty["owners_committee"] is None
    assert empty["has_party_organization"] is False and empty["is_red_property"] is False
    assert empty["assessment_total"] is None and empty["owners_committee_required"] is False


def test_governance_list_filters(as_user, street_admin, estate, community, other_community):
    GovernanceFactory(estate=estate, is_red_property=True, red_property_since=dt.date(2025, 7, 1))
    unserved = factories.EstateFactory(community=other_community, has_property_service=False)
    client = as_user(street_admin)

    def ids(query: str) -> set[int]:
        response = client.get(f"{GOVERNANCE}?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {estate.id, unserved.id}
    assert ids("is_red_property=true") == {estate.id}
    assert ids("is_red_property=false") == {unserved.id}
    assert ids("has_property_service=false") == {unserved.id}
    assert ids(f"community={other_community.id}") == {unserved.id}
    assert ids("has_owners_committee=false") == {estate.id, unserved.id}


def test_governance_list_takes_a_year(as_user, secretary, estate, community):
    item = AssessmentItemFactory(street=community.street, year=2024)
    score(EstateAssessmentFactory(estate=estate, year=2024), item, "3")
    EstateAssessmentFactory(estate=estate, year=2025)
    client = as_user(secretary)
    latest = client.get(GOVERNANCE).json()["results"][0]
    assert (latest["assessment_year"], Decimal(latest["assessment_total"])) == (2025, Decimal("0"))
    older = client.get(f"{GOVERNANCE}?year=2024").json()["results"][0]
    assert (older["assessment_year"], Decimal(older["assessment_total"])) == (2024, Decimal("3"))
    assert_error(client.get(f"{GOVERNANCE}?year=abc"), 400, "validation_error", "year")


def test_governance_list_queries_do_not_grow(as_user, secretary, community, django_assert_max_num_queries):
    def add_rows() -> None:
        company = PropertyCompanyFactory(street=community.street)
        estate = factories.EstateFactory(community=community)
        GovernanceFactory(
            estate=estate,
            property_company=company,
            party_organization=factories.OrganizationFactory(community=community),
        )
        OwnersCommitteeFactory(estate=estate)
        EstateAssessmentFactory(estate=estate)

    add_rows()
    client = as_user(secretary)
    with django_assert_max_num_queries(10) as few:
        assert client.get(GOVERNANCE).status_code == 200
    for _ in range(5):
        add_rows()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(GOVERNANCE).json()["results"]) == 6


def test_patch_governance_sets_company_and_the_map_agrees(as_user, secretary, community):
    estate = factories.EstateFactory(community=community, has_property_service=False)
    company = PropertyCompanyFactory(street=community.street)
    org = factories.OrganizationFactory(community=community)
    response = as_user(secretary).patch(
        f"{GOVERNANCE}{estate.id}/",
        {"property_company": company.id, "party_organization": org.id, "owners_committee_required_override": True},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["property_company"] == company.id and body["has_property_service"] is True
    assert body["has_party_organization"] is True and body["owners_committee_required"] is True
    assert Estate.objects.get(pk=estate.pk).has_property_service is True


def test_patch_governance_through_method_override(as_user, secretary, estate):
    response = as_user(secretary).post(
        f"{GOVERNANCE}{estate.id}/", {"notes": "门禁改造中"}, HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notes"] == "门禁改造中"


def test_patch_governance_bad_input_writes_nothing(as_user, secretary, street_admin, estate, other_community):
    client = as_user(secretary)
    url = f"{GOVERNANCE}{estate.id}/"
    assert_error(client.patch(url, {"property_company": 999999}), 400, "validation_error", "property_company")
    elsewhere = factories.OrganizationFactory(community=other_community)
    assert_error(client.patch(url, {"party_organization": elsewhere.id}), 400, "validation_error", "party_organization")
    company = PropertyCompanyFactory(street=estate.community.street)
    assert_error(
        client.patch(url, {"property_company": company.id, "has_property_service": False}),
        400,
        "validation_error",
        "has_property_service",
    )
    assert_error(client.patch(url, {"is_red_property": True}), 403, "permission_denied")
    assert_error(client.patch(url, {"owners_committee_required_override": "maybe"}), 400, "validation_error")
    assert not EstateGovernance.objects.exists()
    # The street's admin may name it.
    named = as_user(street_admin).patch(url, {"is_red_property": True, "red_property_since": "2025-07-01"})
    assert named.status_code == 200, named.json()
    assert named.json()["is_red_property"] is True


def test_governance_scope(as_user, api, estate, other_staff, resident):
    assert_error(as_user(other_staff).get(f"{GOVERNANCE}{estate.id}/"), 404, "not_found")
    assert_error(as_user(other_staff).patch(f"{GOVERNANCE}{estate.id}/", {"notes": "x"}), 404, "not_found")
    assert as_user(other_staff).get(GOVERNANCE).json()["results"] == []
    assert_error(as_user(resident).get(GOVERNANCE), 403, "permission_denied")
    assert_error(api.get(GOVERNANCE), 401, "not_authenticated")
    assert not EstateGovernance.objects.exists()


# Property companies -----------------------------------------------------------------------------


def test_register_a_company(as_user, staff, street):
    response = as_user(staff).post(
        COMPANIES,
        {
            "name": "岳阳楼区巴陵物业服务有限公司",
            "credit_code": "91350100m000100y43",
            "street": street.id,
            "contact_name": "张经理",
            "contact_phone": "0730-8221234",
            "party_member_count": 4,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["credit_code"] == "91350100M000100Y43"
    assert body["contact_phone"] == "0730-8221234"  # the writer sees what they wrote
    assert body["has_party_organization"] is False and body["estate_count"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credit_code": "91350100M000100Y44"}, "credit_code"),
        ({"credit_code": "91350100M000100O43"}, "credit_code"),
        ({"credit_code": "9135010"}, "credit_code"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"party_member_count": -1}, "party_member_count"),
        ({"name": ""}, "name"),
    ],
)
def test_register_a_company_with_bad_input(as_user, staff, street, change, field):
    payload = {"name": "巴陵物业", "credit_code": credit_code(), "street": street.id, **change}
    assert_error(as_user(staff).post(COMPANIES, payload), 400, "validation_error", field)
    assert not PropertyCompany.objects.exists()


def test_a_code_already_registered_is_refused(as_user, staff, street):
    PropertyCompanyFactory(credit_code="91350100M000100Y43")
    payload = {"name": "巴陵物业", "credit_code": "91350100M000100Y43", "street": street.id}
    assert_error(as_user(staff).post(COMPANIES, payload), 400, "validation_error", "credit_code")
    assert PropertyCompany.objects.count() == 1


def test_company_register_scope(as_user, staff, street, street_admin):
    own = PropertyCompanyFactory(street=street, contact_phone="13712345678")
    foreign_street = factories.StreetFactory()
    foreign = PropertyCompanyFactory(street=foreign_street)
    outsider = factories.staff_of(factories.CommunityFactory(street=foreign_street))

    # Every staff member reads the register, with phones masked in the list...
    listed = as_user(outsider).get(COMPANIES)
    assert {row["id"] for row in listed.json()["results"]} == {own.id, foreign.id}
    assert {row["contact_phone"] for row in listed.json()["results"] if row["id"] == own.id} == {"137****5678"}
    assert as_user(staff).get(f"{COMPANIES}{own.id}/").json()["contact_phone"] == "13712345678"
    # ...but keeps only their own street's.
    assert_error(as_user(outsider).patch(f"{COMPANIES}{own.id}/", {"name": "x"}), 404, "not_found")
    assert_error(
        as_user(outsider).post(COMPANIES, {"name": "x", "credit_code": credit_code(), "street": street.id}),
        400,
        "validation_error",
        "street",
    )
    changed = as_user(staff).patch(f"{COMPANIES}{own.id}/", {"party_member_count": 6})
    assert changed.status_code == 200 and changed.json()["party_member_count"] == 6
    # Removing is the street admin's.
    assert_error(as_user(staff).delete(f"{COMPANIES}{own.id}/"), 403, "permission_denied")
    assert as_user(street_admin).delete(f"{COMPANIES}{own.id}/").status_code == 204
    assert not PropertyCompany.objects.filter(pk=own.pk).exists()


def test_removing_a_company_that_serves_an_estate_is_a_conflict(as_user, street_admin, estate):
    company = PropertyCompanyFactory(street=estate.community.street)
    GovernanceFactory(estate=estate, property_company=company)
    assert_error(as_user(street_admin).delete(f"{COMPANIES}{company.id}/"), 409, "conflict")
    assert PropertyCompany.objects.filter(pk=company.pk).exists()


def test_company_list_queries_do_not_grow(as_user, staff, street, community, django_assert_max_num_queries):
    def add_company() -> None:
        company = PropertyCompanyFactory(
            street=street, party_organization=factories.OrganizationFactory(community=community)
        )
        GovernanceFactory(estate=factories.EstateFactory(community=community), property_company=company)

    add_company()
    client = as_user(staff)
    with django_assert_max_num_queries(10) as few:
        assert client.get(COMPANIES).status_code == 200
    for _ in range(4):
        add_company()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(COMPANIES)
    assert [row["estate_count"] for row in response.json()["results"]] == [1] * 5
    assert response.json()["count"] == 5


# Owners' and residents' committees ----------------------------------------------------------------


def test_owners_committee_crud_and_masked_phones(as_user, secretary, estate, clock):
    clock(2026, 6, 1, 10, 0)
    client = as_user(secretary)
    created = client.post(
        OWNERS,
        {
            "estate": estate.id,
            "term_start": "2024-01-01",
            "term_end": "2028-12-31",
            "members": [
                {"name": "李主任", "role": "director", "phone": "13900001111", "also_in_party_organisation": True},
                {"name": "赵委员", "phone": "13900002222"},
            ],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["is_current"] is True and body["estate_name"] == "巴陵苑"
    assert [m["phone"] for m in body["members"]] == ["13900001111", "13900002222"]

    listed = client.get(OWNERS).json()["results"]
    assert [m["phone"] for m in listed[0]["members"]] == ["139****1111", "139****2222"]
    detail = client.get(f"{OWNERS}{body['id']}/").json()
    assert detail["members"][0]["phone"] == "13900001111"

    changed = client.patch(f"{OWNERS}{body['id']}/", {"members": [{"name": "钱主任", "role": "director"}]})
    assert changed.status_code == 200, changed.json()
    assert [m["name"] for m in changed.json()["members"]] == ["钱主任"]
    # The estate is set once.
    other_estate = factories.EstateFactory(community=estate.community)
    client.patch(f"{OWNERS}{body['id']}/", {"estate": other_estate.id})
    assert OwnersCommittee.objects.get().estate_id == estate.id

    governance = client.get(f"{GOVERNANCE}{estate.id}/").json()
    assert governance["owners_committee"] == body["id"]

    assert client.delete(f"{OWNERS}{body['id']}/").status_code == 204
    assert not OwnersCommittee.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"term_end": "2023-12-31"}, "term_end"),
        ({"term_start": "not a date"}, "term_start"),
        ({"members": [{"name": "甲", "role": "director"}, {"name": "乙", "role": "director"}]}, "members"),
        ({"members": [{"name": "甲", "role": "chairman"}]}, "members.0.role"),
        ({"members": [{"name": "甲", "phone": "0000"}]}, "members.0.phone"),
        ({"members": [{"role": "member"}]}, "members.0.name"),
        ({"estate": 999999}, "estate"),
    ],
)
def test_owners_committee_bad_input(as_user, secretary, estate, change, field):
    payload = {"estate": estate.id, "term_start": "2024-01-01", "term_end": "2028-12-31", **change}
    assert_error(as_user(secretary).post(OWNERS, payload), 400, "validation_error", field)
    assert not OwnersCommittee.objects.exists()


def test_committees_of_another_community_are_404(as_user, other_staff, estate, community):
    committee = OwnersCommitteeFactory(estate=estate)
    OwnersCommitteeMemberFactory(committee=committee)
    residents = ResidentsCommitteeFactory(community=community)
    client = as_user(other_staff)
    assert_error(client.get(f"{OWNERS}{committee.id}/"), 404, "not_found")
    assert_error(client.patch(f"{OWNERS}{committee.id}/", {"notes": "x"}), 404, "not_found")
    assert_error(client.delete(f"{OWNERS}{committee.id}/"), 404, "not_found")
    assert_error(client.get(f"{RESIDENTS}{residents.id}/"), 404, "not_found")
    assert client.get(OWNERS).json()["results"] == []
    # Placing one in an estate outside scope reads as an estate that does not exist.
    payload = {"estate": estate.id, "term_start": "2030-01-01", "term_end": "2034-12-31"}
    assert_error(client.post(OWNERS, payload), 400, "validation_error", "estate")
    assert OwnersCommittee.objects.count() == 1 and committee.members.count() == 1


def test_residents_committee_crud(as_user, secretary, community, other_community):
    client = as_user(secretary)
    created = client.post(
        RESIDENTS,
        {
            "community": community.id,
            "term_start": "2021-07-01",
            "term_end": "2026-06-30",
            "members": [{"name": "王主任", "role": "director", "phone": "13900003333"}],
        },
    )
    assert created.status_code == 201, created.json()
    committee_id = created.json()["id"]
    assert client.get(RESIDENTS).json()["results"][0]["members"][0]["phone"] == "139****3333"
    assert client.patch(f"{RESIDENTS}{committee_id}/", {"notes": "换届筹备中"}).json()["notes"] == "换届筹备中"
    assert_error(
        client.post(RESIDENTS, {"community": community.id, "term_start": "2026-01-01", "term_end": "2030-12-31"}),
        400,
        "validation_error",
        "term_start",
    )
    assert_error(
        client.post(RESIDENTS, {"community": other_community.id, "term_start": "2021-01-01", "term_end": "2026-01-01"}),
        400,
        "validation_error",
        "community",
    )
    assert ResidentsCommittee.objects.count() == 1
    assert client.delete(f"{RESIDENTS}{committee_id}/").status_code == 204


def test_committee_list_queries_do_not_grow(as_user, secretary, community, django_assert_max_num_queries):
    def add_committee() -> None:
        committee = OwnersCommitteeFactory(estate=factories.EstateFactory(community=community))
        OwnersCommitteeMemberFactory.create_batch(3, committee=committee)

    add_committee()
    client = as_user(secretary)
    with django_assert_max_num_queries(10) as few:
        assert client.get(OWNERS).status_code == 200
    for _ in range(4):
        add_committee()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(OWNERS).json()["results"]) == 5


# 三方联动 ----------------------------------------------------------------------------------------


def test_record_a_joint_meeting_with_follow_ups(as_user, staff, estate, clock):
    clock(2026, 3, 20, 10, 0)
    response = as_user(staff).post(
        MEETINGS,
        {
            "estate": estate.id,
            "held_on": "2026-03-18",
            "place": "社区党群服务中心",
            "topics": "小区停车难",
            "decisions": "增设临时车位",
            "participants": ALL_SIDES,
            "follow_ups": [{"content": "划线增设车位 20 个", "owner": "物业公司", "due_date": "2026-04-15"}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["counts"] is True and body["sides_present"] == ["owners", "property", "party"]
    assert body["follow_ups"][0]["is_overdue"] is False and body["follow_ups"][0]["done_on"] is None


def test_a_meeting_without_all_three_sides_is_not_counted(as_user, staff, estate, clock):
    clock(2026, 3, 20, 10, 0)
    client = as_user(staff)
    partial = client.post(
        MEETINGS,
        {"estate": estate.id, "held_on": "2026-03-18", "topics": "绿化", "participants": ALL_SIDES[:2]},
    )
    assert partial.status_code == 201, partial.json()
    assert partial.json()["counts"] is False and partial.json()["sides_present"] == ["owners", "property"]
    full = JointMeetingFactory(estate=estate)
    assert {row["id"] for row in client.get(f"{MEETINGS}?counts=true").json()["results"]} == {full.id}
    assert {row["id"] for row in client.get(f"{MEETINGS}?counts=false").json()["results"]} == {partial.json()["id"]}

    completed = client.patch(f"{MEETINGS}{partial.json()['id']}/", {"participants": ALL_SIDES})
    assert completed.status_code == 200, completed.json()
    assert completed.json()["counts"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"participants": []}, "participants"),
        ({"participants": [{"side": "government", "name": "x"}]}, "participants.0.side"),
        ({"held_on": "2026-03-21"}, "held_on"),
        ({"topics": ""}, "topics"),
        ({"follow_ups": [{"content": "x", "owner": "y", "due_date": "2026-03-01"}]}, "follow_ups.0.due_date"),
        ({"follow_ups": [{"content": "x", "owner": "y"}]}, "follow_ups.0.due_date"),
    ],
)
def test_joint_meeting_bad_input(as_user, staff, estate, clock, change, field):
    clock(2026, 3, 20, 10, 0)
    payload = {"estate": estate.id, "held_on": "2026-03-18", "topics": "停车", "participants": ALL_SIDES, **change}
    assert_error(as_user(staff).post(MEETINGS, payload), 400, "validation_error", field)
    assert not JointMeeting.objects.exists() and not FollowUpItem.objects.exists()


def test_joint_meetings_of_another_community_are_404(as_user, other_staff, estate):
    meeting = JointMeetingFactory(estate=estate)
    item = FollowUpFactory(meeting=meeting)
    client = as_user(other_staff)
    assert_error(client.get(f"{MEETINGS}{meeting.id}/"), 404, "not_found")
    assert_error(client.delete(f"{MEETINGS}{meeting.id}/"), 404, "not_found")
    assert_error(client.patch(f"{FOLLOW_UPS}{item.id}/", {"done_on": "2025-03-20"}), 404, "not_found")
    assert_error(
        client.post(FOLLOW_UPS, {"meeting": meeting.id, "content": "x", "owner": "y", "due_date": "2025-04-01"}),
        400,
        "validation_error",
        "meeting",
    )
    assert client.get(OVERDUE).json()["results"] == []
    assert JointMeeting.objects.filter(pk=meeting.pk).exists()
    assert FollowUpItem.objects.get(pk=item.pk).done_on is None


def test_follow_ups_and_the_overdue_list_across_midnight(as_user, staff, street_admin, estate, clock):
    meeting = JointMeetingFactory(estate=estate, held_on=dt.date(2026, 2, 20))
    client = as_user(staff)
    added = client.post(
        FOLLOW_UPS, {"meeting": meeting.id, "content": "更换路灯", "owner": "物业公司", "due_date": "2026-03-01"}
    )
    assert added.status_code == 201, added.json()
    item_id = added.json()["id"]
    FollowUpFactory(meeting=meeting, due_date=dt.date(2026, 3, 5))

    clock(2026, 3, 1, 23, 59)
    assert client.get(OVERDUE).json()["results"] == []
    clock(2026, 3, 2, 0, 0)
    overdue = client.get(OVERDUE).json()["results"]
    assert [(row["id"], row["is_overdue"]) for row in overdue] == [(item_id, True)]
    # The street's admins see their communities' overdue items too.
    assert [row["id"] for row in as_user(street_admin).get(OVERDUE).json()["results"]] == [item_id]

    assert_error(client.patch(f"{FOLLOW_UPS}{item_id}/", {"done_on": "2026-03-03"}), 400, "validation_error", "done_on")
    done = client.patch(f"{FOLLOW_UPS}{item_id}/", {"done_on": "2026-03-02"})
    assert done.status_code == 200, done.json()
    assert done.json()["is_overdue"] is False
    assert client.get(OVERDUE).json()["results"] == []
    assert {row["id"] for row in client.get(f"{FOLLOW_UPS}?done=false").json()["results"]} != {item_id}
    assert client.delete(f"{FOLLOW_UPS}{item_id}/").status_code == 204


def test_meeting_list_queries_do_not_grow(as_user, secretary, community, django_assert_max_num_queries):
    def add_meeting() -> None:
        meeting = JointMeetingFactory(estate=factories.EstateFactory(community=community))
        FollowUpFactory.create_batch(2, meeting=meeting)

    add_meeting()
    client = as_user(secretary)
    with django_assert_max_num_queries(10) as few:
        assert client.get(MEETINGS).status_code == 200
    for _ in range(4):
        add_meeting()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(MEETINGS).json()["results"]) == 5
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(FOLLOW_UPS).json()["results"]) == 10


# Assessment -------------------------------------------------------------------------------------


def test_street_admins_keep_the_sheet_and_the_line(as_user, street_admin, secretary, street):
    admin = as_user(street_admin)
    item = admin.post(
        ITEMS,
        {
            "street": street.id,
            "year": 2025,
            "category": "党建引领",
            "name": "物业公司党员人数",
            "max_points": "5",
            "guidance": "1-2 人得 1 分, 3-5 人得 3 分, 6 人以上得 5 分",
        },
    )
    assert item.status_code == 201, item.json()
    standard = admin.post(STANDARDS, {"street": street.id, "year": 2025, "demonstration_threshold": "85"})
    assert standard.status_code == 201, standard.json()
    assert admin.patch(f"{STANDARDS}{standard.json()['id']}/", {"demonstration_threshold": "80"}).status_code == 200
    assert AssessmentStandard.objects.get().demonstration_threshold == Decimal("80")
    assert_error(
        admin.post(STANDARDS, {"street": street.id, "year": 2025, "demonstration_threshold": "90"}),
        400,
        "validation_error",
        "year",
    )

    # Community staff read the sheet but do not write it.
    community_staff = as_user(secretary)
    assert [row["id"] for row in community_staff.get(ITEMS).json()["results"]] == [item.json()["id"]]
    assert_error(community_staff.patch(f"{ITEMS}{item.json()['id']}/", {"max_points": "9"}), 403, "permission_denied")
    assert_error(
        community_staff.post(
            ITEMS, {"street": street.id, "year": 2025, "category": "x", "name": "y", "max_points": "1"}
        ),
        403,
        "permission_denied",
    )
    assert AssessmentItem.objects.get().max_points == Decimal("5")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_points": "0"}, "max_points"),
        ({"max_points": "-3"}, "max_points"),
        ({"year": 1999}, "year"),
        ({"name": ""}, "name"),
        ({"name": "小区成立党组织"}, "name"),  # the same line twice in one category
    ],
)
def test_assessment_item_bad_input(as_user, street_admin, street, change, field):
    AssessmentItemFactory(street=street, year=2025, category="党建引领", name="小区成立党组织")
    payload = {
        "street": street.id,
        "year": 2025,
        "category": "党建引领",
        "name": "交叉任职",
        "max_points": "5",
        **change,
    }
    assert_error(as_user(street_admin).post(ITEMS, payload), 400, "validation_error", field)
    assert AssessmentItem.objects.count() == 1


def test_assessment_totals_follow_edited_items(as_user, secretary, street_admin, estate, street):
    first = AssessmentItemFactory(street=street, year=2025, name="小区成立党组织", max_points=Decimal("5"))
    second = AssessmentItemFactory(street=street, year=2025, name="交叉任职", max_points=Decimal("3"))
    AssessmentStandardFactory(street=street, year=2025, demonstration_threshold=Decimal("8"))
    client = as_user(secretary)
    created = client.post(
        ASSESSMENTS,
        {
            "estate": estate.id,
            "year": 2025,
            "scores": [{"item": first.id, "points": "5"}, {"item": second.id, "points": "2"}],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (Decimal(body["total"]), Decimal(body["max_total"]), body["is_demonstration"]) == (
        Decimal("7"),
        Decimal("8"),
        False,
    )
    url = f"{ASSESSMENTS}{body['id']}/"

    # 4 on a 3-point item is refused, and nothing changes.
    assert_error(
        client.patch(url, {"scores": [{"item": second.id, "points": "4"}]}), 400, "validation_error", "scores.0.points"
    )
    assert AssessmentScore.objects.get(item=second).points == Decimal("2")

    # The street raises the item to 4 points: the same score is now accepted and the total moves.
    raised = as_user(street_admin).patch(f"{ITEMS}{second.id}/", {"max_points": "4"})
    assert raised.status_code == 200, raised.json()
    changed = client.patch(url, {"scores": [{"item": second.id, "points": "4"}]})
    assert changed.status_code == 200, changed.json()
    assert (Decimal(changed.json()["total"]), Decimal(changed.json()["max_total"])) == (Decimal("9"), Decimal("9"))
    assert changed.json()["is_demonstration"] is True

    # Lowering it below the score given is refused.
    assert_error(
        as_user(street_admin).patch(f"{ITEMS}{second.id}/", {"max_points": "3"}), 400, "validation_error", "max_points"
    )
    assert_error(as_user(street_admin).delete(f"{ITEMS}{second.id}/"), 409, "conflict")

    listed = client.get(f"{ASSESSMENTS}?is_demonstration=true").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert Decimal(client.get(GOVERNANCE).json()["results"][0]["assessment_total"]) == Decimal("9")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scores": [{"item": "ITEM", "points": "-1"}]}, "scores.0.points"),
        ({"scores": [{"item": "ITEM", "points": "6"}]}, "scores.0.points"),
        ({"scores": [{"item": 999999, "points": "1"}]}, "scores.0.item"),
        ({"scores": [{"item": "ITEM", "points": "1"}, {"item": "ITEM", "points": "2"}]}, "scores"),
        ({"year": 2024}, "scores.0.item"),
        ({"estate": 999999}, "estate"),
    ],
)
def test_assessment_bad_input(as_user, secretary, estate, street, change, field):
    item = AssessmentItemFactory(street=street, year=2025, max_points=Decimal("5"))
    payload = {"estate": estate.id, "year": 2025, "scores": [{"item": item.id, "points": "3"}], **change}
    for score_row in payload["scores"]:
        if score_row["item"] == "ITEM":
            score_row["item"] = item.id
    assert_error(as_user(secretary).post(ASSESSMENTS, payload), 400, "validation_error", field)
    assert not EstateAssessment.objects.exists() and not AssessmentScore.objects.exists()


def test_assessments_scope(as_user, other_staff, street_admin, estate):
    assessment = EstateAssessmentFactory(estate=estate)
    assert_error(as_user(other_staff).get(f"{ASSESSMENTS}{assessment.id}/"), 404, "not_found")
    assert_error(as_user(other_staff).delete(f"{ASSESSMENTS}{assessment.id}/"), 404, "not_found")
    assert as_user(street_admin).get(f"{ASSESSMENTS}{assessment.id}/").status_code == 200
    assert as_user(street_admin).delete(f"{ASSESSMENTS}{assessment.id}/").status_code == 204


def test_assessment_list_queries_do_not_grow(as_user, secretary, community, django_assert_max_num_queries):
    items = AssessmentItemFactory.create_batch(3, street=community.street, year=2025)

    def add_assessment() -> None:
        assessment = EstateAssessmentFactory(estate=factories.EstateFactory(community=community), year=2025)
        for item in items:
            score(assessment, item, "2")

    add_assessment()
    client = as_user(secretary)
    with django_assert_max_num_queries(10) as few:
        assert client.get(ASSESSMENTS).status_code == 200
    for _ in range(4):
        add_assessment()
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = client.get(ASSESSMENTS).json()["results"]
    assert [Decimal(row["total"]) for row in rows] == [Decimal("6")] * 5


# Self-governance --------------------------------------------------------------------------------


def test_self_governance_group_and_meetings(as_user, secretary, community, clock):
    clock(2026, 4, 1, 9, 0)
    estate = factories.EstateFactory(community=community, name="天润小区", households=96, has_property_service=False)
    client = as_user(secretary)
    created = client.post(
        GROUPS,
        {
            "estate": estate.id,
            "name": "天润小区居民自治小组",
            "term_start": "2025-01-01",
            "term_end": "2027-12-31",
            "members": [
                {"name": "刘组长", "role": "leader", "phone": "13900004444", "is_party_member": True},
                {"name": "周组员", "phone": "13900005555"},
            ],
        },
    )
    assert created.status_code == 201, created.json()
    group_id = created.json()["id"]
    listed = client.get(GROUPS).json()["results"]
    assert [m["phone"] for m in listed[0]["members"]] == ["139****4444", "139****5555"]

    meeting = client.post(
        GROUP_MEETINGS,
        {
            "group": group_id,
            "held_on": "2026-03-30",
            "topics": "化粪池清掏",
            "minutes": "每户分摊 30 元",
            "attendee_count": 18,
        },
    )
    assert meeting.status_code == 201, meeting.json()
    assert client.get(f"{GROUPS}{group_id}/").json()["meeting_count"] == 1
    assert client.patch(f"{GROUP_MEETINGS}{meeting.json()['id']}/", {"minutes": "每户分摊 25 元"}).status_code == 200
    assert SelfGovernanceMeeting.objects.get().minutes == "每户分摊 25 元"
    assert_error(
        client.post(GROUP_MEETINGS, {"group": group_id, "held_on": "2026-04-02", "topics": "x"}),
        400,
        "validation_error",
        "held_on",
    )
    assert client.delete(f"{GROUP_MEETINGS}{meeting.json()['id']}/").status_code == 204
    assert client.patch(f"{GROUPS}{group_id}/", {"name": "天润小区自管会"}).json()["name"] == "天润小区自管会"
    assert client.delete(f"{GROUPS}{group_id}/").status_code == 204
    assert not SelfGovernanceGroup.objects.exists()


def test_self_governance_bad_input_and_scope(as_user, secretary, other_staff, estate, community):
    client = as_user(secretary)
    payload = {"estate": estate.id, "name": "自治小组", "term_start": "2025-01-01", "term_end": "2027-12-31"}
    assert_error(client.post(GROUPS, payload), 400, "validation_error", "estate")  # it has property service
    unserved = factories.EstateFactory(community=community, has_property_service=False)
    assert_error(
        client.post(GROUPS, {**payload, "estate": unserved.id, "term_end": "2024-12-31"}),
        400,
        "validation_error",
        "term_end",
    )
    assert not SelfGovernanceGroup.objects.exists()

    group = SelfGovernanceGroupFactory(estate=unserved)
    meeting = SelfGovernanceMeetingFactory(group=group)
    outsider = as_user(other_staff)
    assert_error(outsider.get(f"{GROUPS}{group.id}/"), 404, "not_found")
    assert_error(outsider.patch(f"{GROUP_MEETINGS}{meeting.id}/", {"minutes": "x"}), 404, "not_found")
    assert_error(
        outsider.post(GROUP_MEETINGS, {"group": group.id, "held_on": "2025-05-01", "topics": "x"}),
        400,
        "validation_error",
        "group",
    )
    assert SelfGovernanceMeeting.objects.count() == 1


def test_self_governance_lists_queries_do_not_grow(as_user, secretary, community, django_assert_max_num_queries):
    def add_group() -> None:
        group = SelfGovernanceGroupFactory(
            estate=factories.EstateFactory(community=community, has_property_service=False)
        )
        SelfGovernanceMeetingFactory.create_batch(2, group=group)

    add_group()
    client = as_user(secretary)
    with django_assert_max_num_queries(16) as few:
        assert client.get(GROUPS).status_code == 200
        assert client.get(GROUP_MEETINGS).status_code == 200
    for _ in range(4):
        add_group()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(GROUPS).json()["results"]) == 5
        assert len(client.get(GROUP_MEETINGS).json()["results"]) == 10
