"""The red-property console: scoped lists, every page opens, writes go through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from backend.red_property.models import (
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    OwnersCommittee,
    PropertyCompany,
)
from tests import factories

from .factories import (
    AssessmentItemFactory,
    EstateAssessmentFactory,
    GovernanceFactory,
    JointMeetingFactory,
    OwnersCommitteeFactory,
    PropertyCompanyFactory,
    ResidentsCommitteeFactory,
    SelfGovernanceGroupFactory,
    SelfGovernanceMeetingFactory,
    credit_code,
)

pytestmark = pytest.mark.django_db

MODELS = (
    "propertycompany",
    "estategovernance",
    "ownerscommittee",
    "residentscommittee",
    "jointmeeting",
    "selfgovernancegroup",
    "selfgovernancemeeting",
    "assessmentstandard",
    "assessmentitem",
    "estateassessment",
)


def _inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


@pytest.mark.parametrize("model", MODELS)
def test_every_page_opens_for_a_street_admin(client, street_admin, community, model):
    estate = factories.EstateFactory(community=community, has_property_service=False)
    GovernanceFactory(estate=estate)
    OwnersCommitteeFactory(estate=estate)
    ResidentsCommitteeFactory(community=community)
    JointMeetingFactory(estate=estate)
    SelfGovernanceMeetingFactory(group=SelfGovernanceGroupFactory(estate=estate))
    EstateAssessmentFactory(estate=estate)
    AssessmentItemFactory(street=community.street)
    PropertyCompanyFactory(street=community.street)
    client.force_login(street_admin)
    changelist = client.get(reverse(f"admin:red_property_{model}_changelist"))
    assert changelist.status_code == 200
    objects = list(changelist.context["cl"].result_list)
    if objects:
        change = client.get(reverse(f"admin:red_property_{model}_change", args=[objects[0].pk]))
        assert change.status_code == 200
    assert client.get(reverse(f"admin:red_property_{model}_add")).status_code == 200


def test_lists_are_scoped(client, estate, other_community, secretary):
    mine = JointMeetingFactory(estate=estate)
    JointMeetingFactory(estate=factories.EstateFactory(community=other_community))
    client.force_login(secretary)
    response = client.get(reverse("admin:red_property_jointmeeting_changelist"))
    assert [m.pk for m in response.context["cl"].result_list] == [mine.pk]


def test_register_a_company_in_the_console(client, street, staff):
    client.force_login(staff)
    code = credit_code()
    response = client.post(
        reverse("admin:red_property_propertycompany_add"),
        {"name": "巴陵物业", "credit_code": code.lower(), "street": street.pk, "party_member_count": 2},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert PropertyCompany.objects.get().credit_code == code
    bad = client.post(
        reverse("admin:red_property_propertycompany_add"),
        {"name": "x", "credit_code": "91350100M000100Y44", "street": street.pk, "party_member_count": 0},
    )
    assert bad.status_code == 200 and "credit_code" in bad.context["adminform"].form.errors
    assert PropertyCompany.objects.count() == 1


def test_an_organisation_of_another_community_cannot_be_picked(client, estate, staff, other_community):
    client.force_login(staff)
    elsewhere = factories.OrganizationFactory(community=other_community)
    response = client.post(
        reverse("admin:red_property_estategovernance_add"),
        {"estate": estate.pk, "party_organization": elsewhere.pk, "notes": ""},
    )
    assert response.status_code == 200
    assert "party_organization" in response.context["adminform"].form.errors
    assert not EstateGovernance.objects.exists()


def test_owners_committee_with_members_through_the_console(client, estate, secretary):
    client.force_login(secretary)
    data = {
        "estate": estate.pk,
        "term_start": "2024-01-01",
        "term_end": "2028-12-31",
        "notes": "",
        **_inline(
            "members",
            [
                {"name": "李主任", "role": "director", "phone": "13900001111", "also_in_party_organisation": "on"},
                {"name": "赵委员", "role": "member", "phone": ""},
            ],
        ),
    }
    response = client.post(reverse("admin:red_property_ownerscommittee_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    committee = OwnersCommittee.objects.get()
    assert sorted(committee.members.values_list("name", "role")) == [("李主任", "director"), ("赵委员", "member")]
    # An overlapping term is refused and nothing more is stored.
    again = client.post(
        reverse("admin:red_property_ownerscommittee_add"), {**data, "term_start": "2025-01-01"}, follow=True
    )
    assert again.status_code == 200
    assert any("任期" in str(message) for message in again.context["messages"])
    assert OwnersCommittee.objects.count() == 1
    assert committee.members.count() == 2


def test_joint_meeting_with_participants_and_follow_ups(client, estate, secretary):
    client.force_login(secretary)
    data = {
        "estate": estate.pk,
        "held_on": "2025-03-12",
        "place": "",
        "topics": "停车难",
        "decisions": "",
        **_inline(
            "participants",
            [
                {"side": "owners", "name": "业委会 李"},
                {"side": "property", "name": "物业 张"},
                {"side": "party", "name": "社区 王"},
            ],
        ),
        **_inline("follow_ups", [{"content": "增设车位", "owner": "物业", "due_date": "2025-04-01", "done_on": ""}]),
    }
    response = client.post(reverse("admin:red_property_jointmeeting_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    meeting = JointMeeting.objects.get()
    assert meeting.counts is True
    item = FollowUpItem.objects.get()
    assert (item.meeting, item.due_date) == (meeting, dt.date(2025, 4, 1))
