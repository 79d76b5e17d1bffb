"""Who may act comes before what is wrong with the input: in each members service, a caller without
the right hears permission_denied (403) even when their input is also wrong, and nothing is written."""

import datetime as dt

import pytest

from backend.core.errors import DomainError
from backend.members import services
from backend.members.models import Demand, MemberRegistration, PointsRule, ServicePost, ServiceProject
from tests import factories
from tests.members.factories import DemandFactory, registered_member

pytestmark = pytest.mark.django_db

LATER, EARLIER = dt.date(2026, 6, 1), dt.date(2026, 5, 1)


def refused(call, **kwargs) -> None:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == "permission_denied", caught.value.fields


def test_revoke_by_the_member_with_no_reason(community):
    member = registered_member(community)
    registration = MemberRegistration.objects.get(member=member)
    refused(services.revoke_registration, registration=registration, by=member.user, reason="")
    assert MemberRegistration.objects.get(pk=registration.pk).status == "approved"


def test_complete_by_someone_else_with_no_note(community, resident):
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=registered_member(community).user)
    refused(services.complete_demand, demand=demand, by=registered_member(community).user, note="")
    assert Demand.objects.get(pk=demand.pk).status == "claimed"


def test_assign_by_another_community_to_a_member_not_registered_there(community, other_community, resident):
    demand = DemandFactory(community=community, requester=resident)
    stranger = registered_member(other_community)
    refused(services.assign_demand, demand=demand, by=factories.staff_of(other_community), member=stranger)
    assert Demand.objects.get(pk=demand.pk).status == "open"


def test_create_post_by_a_resident_with_a_taken_name(community, resident):
    ServicePost.objects.create(community=community, name="楼道长")
    refused(services.create_post, by=resident, community=community, name="楼道长")
    assert ServicePost.objects.count() == 1


def test_update_post_by_another_community_with_a_taken_name(community, other_community):
    ServicePost.objects.create(community=community, name="楼道长")
    post = ServicePost.objects.create(community=community, name="宣传员")
    refused(services.update_post, post=post, by=factories.staff_of(other_community), name="楼道长")
    assert ServicePost.objects.get(pk=post.pk).name == "宣传员"


def test_create_project_by_a_resident_with_dates_backwards(community, resident):
    refused(
        services.create_project,
        by=resident,
        community=community,
        name="助老",
        owner=resident,
        starts_on=LATER,
        ends_on=EARLIER,
    )
    assert not ServiceProject.objects.exists()


def test_update_project_by_a_member_not_its_owner_with_dates_backwards(community):
    staff = factories.staff_of(community)
    project = services.create_project(by=staff, community=community, name="助老", owner=staff)
    refused(
        services.update_project,
        project=project,
        by=registered_member(community).user,
        starts_on=LATER,
        ends_on=EARLIER,
    )
    assert ServiceProject.objects.get(pk=project.pk).ends_on is None


def test_points_rule_by_community_staff_with_no_code(community):
    refused(
        services.save_points_rule,
        by=factories.staff_of(community),
        rule=None,
        street=community.street,
        code="",
        name="",
        points=1,
        yearly_cap=None,
        is_active=True,
    )
    assert not PointsRule.objects.filter(street=community.street).exists()


# Through the API: the denial comes before the body is read --------------------------------------

DEMANDS = "/api/v1/demands/"


def _denied(response) -> None:
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"


def test_assign_by_a_member_with_a_member_id_that_does_not_exist(community, resident, as_user):
    demand = DemandFactory(community=community, requester=resident)
    member = registered_member(community)
    # Whether the id is a member or not, a non-staff caller hears only that they may not assign.
    _denied(as_user(member.user).post(f"{DEMANDS}{demand.pk}/assign/", {"member": 999999}))
    _denied(as_user(member.user).post(f"{DEMANDS}{demand.pk}/assign/", {"member": member.pk}))
    assert Demand.objects.get(pk=demand.pk).status == "open"


def test_staff_assigning_hear_the_same_of_a_member_out_of_their_scope_as_of_no_member(
    community, other_community, resident, as_user
):
    demand = DemandFactory(community=community, requester=resident)
    elsewhere = registered_member(other_community)
    secretary = as_user(factories.staff_of(community))
    missing = secretary.post(f"{DEMANDS}{demand.pk}/assign/", {"member": 999999})
    hidden = secretary.post(f"{DEMANDS}{demand.pk}/assign/", {"member": elsewhere.pk})
    assert missing.status_code == hidden.status_code == 400
    assert (
        missing.json()["fields"]["member"][0].replace("999999", str(elsewhere.pk))
        == hidden.json()["fields"]["member"][0]
    )


def test_complete_by_the_requester_with_bad_evidence(community, resident, as_user):
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=registered_member(community).user)
    # The requester sees the claimed demand but does not work on it.
    _denied(as_user(resident).post(f"{DEMANDS}{demand.pk}/done/", {"evidence": ["nope"]}, format="json"))
    assert Demand.objects.get(pk=demand.pk).status == "claimed"


def test_unit_filing_changed_by_a_liaison_not_its_filer_with_a_bad_phone(community, as_user):
    from tests.members.factories import registered_unit

    # An earlier filing, withdrawn; the other liaison's own tie with the same community now lets
    # them see it, which is not theirs to change.
    tie = registered_unit(community)
    tie.status, tie.withdrawn_at = "withdrawn", tie.approved_at
    tie.save(update_fields=["status", "withdrawn_at"])
    other_liaison = factories.UserFactory()
    registered_unit(community, liaison=other_liaison, organization=tie.organization)
    response = as_user(other_liaison).patch(
        f"/api/v1/members/unit-registrations/{tie.pk}/", {"contact_phone": "1"}, format="json"
    )
    _denied(response)
    # A liaison of the unit without a tie of their own does not see the filing at all.
    outsider = factories.UserFactory()
    factories.grant(outsider, "unit_liaison", tie.organization)
    hidden = as_user(outsider).patch(
        f"/api/v1/members/unit-registrations/{tie.pk}/", {"contact_phone": "1"}, format="json"
    )
    assert hidden.status_code == 404
