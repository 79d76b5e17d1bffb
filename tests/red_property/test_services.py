"""The services called directly: the rules, and that a refused write leaves nothing behind."""

import datetime as dt
from decimal import Decimal

import pytest

from backend.communities.models import Estate
from backend.core.errors import DomainError
from backend.red_property import selectors, services
from backend.red_property.models import (
    AssessmentItem,
    AssessmentScore,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    OwnersCommittee,
    PropertyCompany,
    SelfGovernanceGroup,
)
from tests import factories

from .factories import (
    AssessmentItemFactory,
    AssessmentStandardFactory,
    EstateAssessmentFactory,
    FollowUpFactory,
    JointMeetingFactory,
    OwnersCommitteeFactory,
    PropertyCompanyFactory,
    SelfGovernanceGroupFactory,
    credit_code,
    score,
)

pytestmark = pytest.mark.django_db

ALL_SIDES = [
    {"side": "owners", "name": "业委会主任 李"},
    {"side": "property", "name": "物业项目经理 张"},
    {"side": "party", "name": "社区书记 王"},
]


def _error(call, code: str = "validation_error") -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code
    return caught.value


# Property companies -----------------------------------------------------------------------------


def test_create_company_normalises_the_code_and_refuses_a_second_with_the_same(street, staff):
    company = services.create_property_company(
        by=staff, name="巴陵物业", credit_code=" 91350100m000100y43 ", street=street
    )
    assert company.credit_code == "91350100M000100Y43"
    error = _error(
        lambda: services.create_property_company(
            by=staff, name="另一家", credit_code="91350100M000100Y43", street=street
        )
    )
    assert "credit_code" in error.fields
    assert PropertyCompany.objects.count() == 1


def test_create_company_with_a_bad_check_character_writes_nothing(street, staff):
    error = _error(
        lambda: services.create_property_company(
            by=staff, name="巴陵物业", credit_code="91350100M000100Y44", street=street
        )
    )
    assert "校验位" in error.fields["credit_code"][0]
    assert not PropertyCompany.objects.exists()


def test_only_staff_of_the_street_keep_its_register(street, staff):
    foreign = factories.staff_of(factories.CommunityFactory())
    _error(
        lambda: services.create_property_company(by=foreign, name="x", credit_code=credit_code(), street=street),
        "permission_denied",
    )
    company = PropertyCompanyFactory(street=street)
    _error(lambda: services.update_property_company(by=foreign, company=company, name="y"), "permission_denied")
    services.update_property_company(by=staff, company=company, name="更名物业")
    company.refresh_from_db()
    assert company.name == "更名物业"


def test_a_company_serving_an_estate_cannot_be_removed(street, street_admin, staff, estate):
    company = PropertyCompanyFactory(street=street)
    services.update_estate_governance(by=staff, estate=estate, property_company=company)
    _error(lambda: services.delete_property_company(by=staff, company=company), "permission_denied")
    _error(lambda: services.delete_property_company(by=street_admin, company=company), "conflict")
    services.update_estate_governance(by=staff, estate=estate, property_company=None)
    services.delete_property_company(by=street_admin, company=company)
    assert not PropertyCompany.objects.exists()


# Governance and the map's has_property_service ----------------------------------------------------


def test_setting_a_company_marks_the_estate_served_and_removing_it_makes_it_unserved(community, staff):
    estate = factories.EstateFactory(community=community, has_property_service=False)
    company = PropertyCompanyFactory(street=community.street)

    governance = services.update_estate_governance(by=staff, estate=estate, property_company=company)
    estate.refresh_from_db()
    assert governance.property_company == company and estate.has_property_service is True

    services.update_estate_governance(by=staff, estate=estate, property_company=None)
    estate.refresh_from_db()
    assert estate.has_property_service is False


def test_removing_the_company_may_keep_the_service_when_said_so(estate, staff):
    company = PropertyCompanyFactory(street=estate.community.street)
    services.update_estate_governance(by=staff, estate=estate, property_company=company)
    services.update_estate_governance(by=staff, estate=estate, property_company=None, has_property_service=True)
    estate.refresh_from_db()
    assert estate.has_property_service is True
    assert EstateGovernance.objects.get(estate=estate).property_company is None


def test_no_service_with_a_company_is_refused_and_nothing_changes(estate, staff):
    company = PropertyCompanyFactory(street=estate.community.street)
    error = _error(
        lambda: services.update_estate_governance(
            by=staff, estate=estate, property_company=company, has_property_service=False
        )
    )
    assert "has_property_service" in error.fields
    assert not EstateGovernance.objects.exists()
    assert Estate.objects.get(pk=estate.pk).has_property_service is True


def test_the_estate_party_organisation_must_be_of_its_community(estate, staff, other_community):
    elsewhere = factories.OrganizationFactory(community=other_community)
    _error(lambda: services.update_estate_governance(by=staff, estate=estate, party_organization=elsewhere))
    unit = factories.UnitOrganizationFactory()
    _error(lambda: services.update_estate_governance(by=staff, estate=estate, party_organization=unit))
    own = factories.OrganizationFactory(community=estate.community, name="巴陵苑党支部")
    governance = services.update_estate_governance(by=staff, estate=estate, party_organization=own)
    assert governance.party_organization == own


def test_only_the_street_names_a_demonstration_estate(estate, staff, street_admin, clock):
    clock(2026, 5, 20, 9, 0)
    _error(
        lambda: services.update_estate_governance(by=staff, estate=estate, is_red_property=True), "permission_denied"
    )
    assert not EstateGovernance.objects.exists()

    governance = services.update_estate_governance(by=street_admin, estate=estate, is_red_property=True)
    assert governance.is_red_property and governance.red_property_since == dt.date(2026, 5, 20)

    governance = services.update_estate_governance(by=street_admin, estate=estate, is_red_property=False)
    assert not governance.is_red_property and governance.red_property_since is None
    _error(
        lambda: services.update_estate_governance(
            by=street_admin, estate=estate, is_red_property=True, red_property_since=dt.date(2026, 6, 1)
        )
    )


def test_another_communitys_staff_cannot_change_the_governance(estate, other_staff):
    _error(lambda: services.update_estate_governance(by=other_staff, estate=estate, notes="x"), "permission_denied")
    assert not EstateGovernance.objects.exists()


def test_owners_committee_required_by_households_or_by_override(community, staff, settings):
    settings.OWNERS_COMMITTEE_HOUSEHOLDS = 100
    small = factories.EstateFactory(community=community, households=99)
    big = factories.EstateFactory(community=community, households=100)
    required = set(selectors.estates_requiring_owners_committee(community_ids=[community.id]))
    assert required == {big}

    services.update_estate_governance(by=staff, estate=small, owners_committee_required_override=True)
    services.update_estate_governance(by=staff, estate=big, owners_committee_required_override=False)
    assert set(selectors.estates_requiring_owners_committee(community_ids=[community.id])) == {small}
    assert EstateGovernance.objects.get(estate=small).owners_committee_required is True

    settings.OWNERS_COMMITTEE_HOUSEHOLDS = 50
    services.update_estate_governance(by=staff, estate=big, owners_committee_required_override=None)
    assert set(selectors.estates_requiring_owners_committee(community_ids=[community.id])) == {small, big}


# Committees -------------------------------------------------------------------------------------


def test_owners_committee_with_members(estate, staff):
    committee = services.create_owners_committee(
        by=staff,
        estate=estate,
        term_start=dt.date(2024, 1, 1),
        term_end=dt.date(2028, 12, 31),
        members=[
            {"name": "李主任", "role": "director", "phone": "13900001111", "also_in_party_organisation": True},
            {"name": "赵委员", "role": "member"},
        ],
    )
    assert sorted(committee.members.values_list("name", "also_in_party_organisation")) == [
        ("李主任", True),
        ("赵委员", False),
    ]


def test_two_directors_or_overlapping_terms_are_refused(estate, staff):
    _error(
        lambda: services.create_owners_committee(
            by=staff,
            estate=estate,
            term_start=dt.date(2024, 1, 1),
            term_end=dt.date(2028, 12, 31),
            members=[{"name": "甲", "role": "director"}, {"name": "乙", "role": "director"}],
        )
    )
    assert not OwnersCommittee.objects.exists()
    OwnersCommitteeFactory(estate=estate, term_start=dt.date(2024, 1, 1), term_end=dt.date(2028, 12, 31))
    error = _error(
        lambda: services.create_owners_committee(
            by=staff, estate=estate, term_start=dt.date(2028, 6, 1), term_end=dt.date(2033, 5, 31)
        )
    )
    assert "term_start" in error.fields
    # The next term may start the day after the last one ends.
    services.create_owners_committee(
        by=staff, estate=estate, term_start=dt.date(2029, 1, 1), term_end=dt.date(2033, 12, 31)
    )
    assert OwnersCommittee.objects.filter(estate=estate).count() == 2


def test_updating_members_replaces_the_list(estate, staff):
    committee = services.create_owners_committee(
        by=staff,
        estate=estate,
        term_start=dt.date(2024, 1, 1),
        term_end=dt.date(2028, 12, 31),
        members=[{"name": "甲", "role": "director"}],
    )
    services.update_owners_committee(
        by=staff, committee=committee, members=[{"name": "乙", "role": "director"}, {"name": "丙"}]
    )
    assert sorted(committee.members.values_list("name", flat=True)) == ["丙", "乙"]


def test_residents_committee_of_the_community(community, staff, other_staff):
    committee = services.create_residents_committee(
        by=staff,
        community=community,
        term_start=dt.date(2021, 7, 1),
        term_end=dt.date(2026, 6, 30),
        members=[{"name": "王主任", "role": "director", "also_in_party_organisation": True}],
    )
    assert committee.members.get().role == "director"
    _error(
        lambda: services.create_residents_committee(
            by=other_staff, community=community, term_start=dt.date(2026, 7, 1), term_end=dt.date(2031, 6, 30)
        ),
        "permission_denied",
    )
    assert selectors.current_residents_committee(community, on=dt.date(2025, 1, 1)) == committee
    assert selectors.current_residents_committee(community, on=dt.date(2026, 7, 1)) is None


# 三方联动 ----------------------------------------------------------------------------------------


def test_a_meeting_counts_only_with_all_three_sides(estate, staff, clock):
    clock(2026, 3, 20, 10, 0)
    full = services.create_joint_meeting(
        by=staff, estate=estate, held_on=dt.date(2026, 3, 18), topics="停车", participants=ALL_SIDES
    )
    two_sides = services.create_joint_meeting(
        by=staff,
        estate=estate,
        held_on=dt.date(2026, 3, 19),
        topics="绿化",
        # Two people of the same side do not make up for a missing one.
        participants=[ALL_SIDES[0], {"side": "owners", "name": "业主代表 陈"}, ALL_SIDES[1]],
    )
    assert full.counts is True
    assert two_sides.counts is False
    annotated = {m.pk: m.counts for m in selectors.with_counts(JointMeeting.objects.all())}
    assert annotated == {full.pk: True, two_sides.pk: False}
    assert list(selectors.counted_joint_meetings(community_ids=[estate.community_id])) == [full]

    # Adding the missing side makes it count.
    services.update_joint_meeting(by=staff, meeting=two_sides, participants=[*ALL_SIDES])
    assert set(selectors.counted_joint_meetings()) == {full, two_sides}


def test_meeting_input_rules(estate, staff, clock):
    clock(2026, 3, 20, 10, 0)
    _error(
        lambda: services.create_joint_meeting(
            by=staff, estate=estate, held_on=dt.date(2026, 3, 21), topics="x", participants=ALL_SIDES
        )
    )
    _error(
        lambda: services.create_joint_meeting(
            by=staff, estate=estate, held_on=dt.date(2026, 3, 18), topics="x", participants=[]
        )
    )
    error = _error(
        lambda: services.create_joint_meeting(
            by=staff,
            estate=estate,
            held_on=dt.date(2026, 3, 18),
            topics="x",
            participants=ALL_SIDES,
            follow_ups=[{"content": "修路灯", "owner": "物业", "due_date": dt.date(2026, 3, 1)}],
        )
    )
    assert "follow_ups.0.due_date" in error.fields
    assert not JointMeeting.objects.exists() and not FollowUpItem.objects.exists()


def test_overdue_follow_ups_across_midnight_in_shanghai(estate, staff, clock):
    meeting = JointMeetingFactory(estate=estate, held_on=dt.date(2026, 2, 20))
    due = FollowUpFactory(meeting=meeting, due_date=dt.date(2026, 3, 1))
    FollowUpFactory(meeting=meeting, due_date=dt.date(2026, 3, 1), done_on=dt.date(2026, 2, 28))
    FollowUpFactory(meeting=meeting, due_date=dt.date(2026, 3, 2))

    # 23:59 on the due date in Shanghai is 15:59 UTC: the item is due today, not overdue.
    clock(2026, 3, 1, 23, 59)
    assert list(selectors.overdue_follow_ups(staff)) == []
    assert not due.is_overdue(selectors.today())

    # One minute later it is 2 March in Shanghai (still 1 March in UTC): overdue.
    clock(2026, 3, 2, 0, 0)
    assert list(selectors.overdue_follow_ups(staff)) == [due]

    services.update_follow_up(by=staff, item=due, done_on=dt.date(2026, 3, 2))
    assert list(selectors.overdue_follow_ups(staff)) == []


def test_follow_up_done_date_rules(estate, staff, clock):
    clock(2026, 3, 10, 12, 0)
    item = FollowUpFactory(meeting=JointMeetingFactory(estate=estate, held_on=dt.date(2026, 3, 1)))
    _error(lambda: services.update_follow_up(by=staff, item=item, done_on=dt.date(2026, 3, 11)))
    _error(lambda: services.update_follow_up(by=staff, item=item, done_on=dt.date(2026, 2, 28)))
    item.refresh_from_db()
    assert item.done_on is None


# Assessment -------------------------------------------------------------------------------------


@pytest.fixture
def sheet(street):
    return [
        AssessmentItemFactory(street=street, category="党建引领", name="小区成立党组织", max_points=Decimal("5")),
        AssessmentItemFactory(street=street, category="党建引领", name="物业公司党员人数", max_points=Decimal("5")),
        AssessmentItemFactory(street=street, category="服务质量", name="业主满意度", max_points=Decimal("10")),
    ]


def _total(assessment) -> tuple[Decimal, Decimal, bool]:
    row = selectors.assessments_for(factories.admin_of(assessment.estate.community.street)).get(pk=assessment.pk)
    return row.total, row.max_total, row.is_demonstration


def test_assessment_total_is_the_sum_of_scores_and_demonstration_follows_the_line(estate, staff, sheet):
    AssessmentStandardFactory(street=estate.community.street, year=2025, demonstration_threshold=Decimal("15"))
    assessment = services.create_assessment(
        by=staff,
        estate=estate,
        year=2025,
        scores=[{"item": sheet[0], "points": Decimal("5")}, {"item": sheet[1], "points": Decimal("3")}],
    )
    assert _total(assessment) == (Decimal("8"), Decimal("20"), False)

    services.update_assessment(by=staff, assessment=assessment, scores=[{"item": sheet[2], "points": Decimal("7")}])
    assert _total(assessment) == (Decimal("15"), Decimal("20"), True)

    services.update_assessment(by=staff, assessment=assessment, scores=[{"item": sheet[0], "points": None}])
    assert _total(assessment) == (Decimal("10"), Decimal("20"), False)


def test_a_score_above_the_items_full_marks_is_refused_until_the_item_is_edited(estate, staff, street_admin, sheet):
    assessment = services.create_assessment(by=staff, estate=estate, year=2025)
    error = _error(
        lambda: services.update_assessment(
            by=staff, assessment=assessment, scores=[{"item": sheet[0], "points": Decimal("6")}]
        )
    )
    assert "scores.0.points" in error.fields
    assert not AssessmentScore.objects.exists()

    services.update_assessment_item(by=street_admin, item=sheet[0], max_points=Decimal("8"))
    services.update_assessment(by=staff, assessment=assessment, scores=[{"item": sheet[0], "points": Decimal("6")}])
    assert _total(assessment) == (Decimal("6"), Decimal("23"), False)

    # Full marks cannot fall below a score already given; above it they may.
    _error(lambda: services.update_assessment_item(by=street_admin, item=sheet[0], max_points=Decimal("5")))
    assert AssessmentItem.objects.get(pk=sheet[0].pk).max_points == Decimal("8")
    services.update_assessment_item(by=street_admin, item=sheet[0], max_points=Decimal("6"))
    assert _total(assessment) == (Decimal("6"), Decimal("21"), False)


def test_items_are_the_street_admins_and_of_the_estates_street_and_year(estate, staff, street_admin, sheet):
    _error(
        lambda: services.create_assessment_item(
            by=staff, street=estate.community.street, year=2025, category="x", name="y", max_points=Decimal("1")
        ),
        "permission_denied",
    )
    elsewhere = AssessmentItemFactory(year=2025)
    last_year = AssessmentItemFactory(street=estate.community.street, year=2024)
    for item in (elsewhere, last_year):
        _error(
            lambda item=item: services.create_assessment(
                by=staff, estate=estate, year=2025, scores=[{"item": item, "points": Decimal("1")}]
            )
        )
    assert not AssessmentScore.objects.exists()
    # Nor was the assessment itself kept.
    assert not estate.red_property_assessments.exists()
    _error(
        lambda: services.create_assessment_item(
            by=street_admin,
            street=estate.community.street,
            year=2025,
            category="党建引领",
            name="小区成立党组织",
            max_points=Decimal("3"),
        )
    )


def test_an_item_with_scores_cannot_be_deleted(estate, street_admin, sheet):
    score(EstateAssessmentFactory(estate=estate), sheet[0], "4")
    _error(lambda: services.delete_assessment_item(by=street_admin, item=sheet[0]), "conflict")
    services.delete_assessment_item(by=street_admin, item=sheet[1])
    assert AssessmentItem.objects.count() == 2


def test_one_assessment_per_estate_and_year(estate, staff):
    services.create_assessment(by=staff, estate=estate, year=2025)
    error = _error(lambda: services.create_assessment(by=staff, estate=estate, year=2025))
    assert "year" in error.fields


# Self-governance --------------------------------------------------------------------------------


def test_self_governance_only_for_estates_without_property_service(community, staff, clock):
    clock(2026, 4, 1, 9, 0)
    served = factories.EstateFactory(community=community, has_property_service=True)
    error = _error(
        lambda: services.create_self_governance_group(
            by=staff, estate=served, name="自治小组", term_start=dt.date(2025, 1, 1), term_end=dt.date(2027, 12, 31)
        )
    )
    assert "estate" in error.fields
    unserved = factories.EstateFactory(community=community, name="天润小区", has_property_service=False)
    group = services.create_self_governance_group(
        by=staff,
        estate=unserved,
        name="天润小区居民自治小组",
        term_start=dt.date(2025, 1, 1),
        term_end=dt.date(2027, 12, 31),
        members=[{"name": "刘组长", "role": "leader", "is_party_member": True}, {"name": "周组员"}],
    )
    meeting = services.record_self_governance_meeting(
        by=staff, group=group, held_on=dt.date(2026, 3, 30), topics="化粪池清掏", minutes="每户分摊 30 元"
    )
    assert meeting.group == group
    _error(
        lambda: services.record_self_governance_meeting(by=staff, group=group, held_on=dt.date(2026, 4, 2), topics="x")
    )
    assert SelfGovernanceGroup.objects.get().meetings.count() == 1


def test_self_governance_group_has_one_leader(community, staff):
    estate = factories.EstateFactory(community=community, has_property_service=False)
    _error(
        lambda: services.create_self_governance_group(
            by=staff,
            estate=estate,
            name="x",
            term_start=dt.date(2025, 1, 1),
            term_end=dt.date(2027, 12, 31),
            members=[{"name": "甲", "role": "leader"}, {"name": "乙", "role": "leader"}],
        )
    )
    assert not SelfGovernanceGroup.objects.exists()
    group = SelfGovernanceGroupFactory(estate=estate)
    _error(
        lambda: services.update_self_governance_group(
            by=staff, group=group, term_end=group.term_start - dt.timedelta(days=1)
        )
    )
