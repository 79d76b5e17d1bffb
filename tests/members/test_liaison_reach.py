"""A unit's liaison reaches only the communities where the unit's own registration (the tie) is
approved, and there only that unit's members, claims and offers; the grant alone reaches nothing."""

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.core.errors import DomainError
from backend.members import selectors, services
from backend.members.models import Demand, Resource, UnitRegistration
from tests import factories
from tests.members.factories import DemandFactory, registered_member, registered_unit, unit_tie

pytestmark = pytest.mark.django_db

MEMBERS = "/api/v1/members/"
DEMANDS = "/api/v1/demands/"
RESOURCES = "/api/v1/resources/"


def _claimed_by_unit(community, organization):
    return DemandFactory(
        community=community,
        status=Demand.Status.CLAIMED,
        claimed_by=factories.UserFactory(),
        claimed_organization=organization,
        claimed_at=timezone.now(),
    )


@pytest.fixture
def several(community, other_community):
    """A liaison of two units: the first registered with `community`, the second only filed with
    `other_community` (pending)."""
    liaison = factories.UserFactory()
    first, second = factories.UnitOrganizationFactory(), factories.UnitOrganizationFactory()
    registered_unit(community, liaison=liaison, organization=first)
    factories.grant(liaison, Role.UNIT_LIAISON, second)
    unit_tie(other_community, organization=second, filed_by=liaison, status=UnitRegistration.Status.PENDING)
    return liaison, first, second


def test_a_liaison_of_several_units_reads_each_units_members_only_where_that_unit_is_tied(
    several, community, other_community, as_user
):
    liaison, first, second = several
    own = registered_member(community, organization=first)
    registered_member(other_community, organization=second)  # the second unit's tie is pending
    registered_member(community, organization=second)  # the first unit's community, another unit
    registered_member(other_community, organization=first)  # the first unit, a community it is not tied to
    listed = as_user(liaison).get(MEMBERS)
    assert [row["id"] for row in listed.json()["results"]] == [own.pk]
    assert selectors.liaison_community_ids(liaison) == {community.pk}


@pytest.mark.parametrize("status", ["pending", "withdrawn", "rejected"])
def test_a_grant_for_a_unit_tied_nowhere_reaches_nothing(status, community, as_user):
    liaison, unit = factories.UserFactory(), factories.UnitOrganizationFactory()
    factories.grant(liaison, Role.UNIT_LIAISON, unit)
    unit_tie(community, organization=unit, filed_by=liaison, status=status)
    registered_member(community, organization=unit)
    listed = as_user(liaison).get(MEMBERS)
    assert listed.status_code == 403 and listed.json()["code"] == "permission_denied"
    offered = as_user(liaison).post(RESOURCES, {"community": community.id})
    assert offered.status_code == 403 and offered.json()["code"] == "permission_denied"


def test_a_units_claim_where_its_tie_ended_is_out_of_its_liaisons_reach(community, other_community, as_user):
    liaison, unit = factories.UserFactory(), factories.UnitOrganizationFactory()
    registered_unit(other_community, liaison=liaison, organization=unit)
    withdrawn = unit_tie(community, organization=unit, filed_by=liaison, status=UnitRegistration.Status.WITHDRAWN)
    there = _claimed_by_unit(community, unit)
    here = _claimed_by_unit(other_community, unit)

    ids = {row["id"] for row in as_user(liaison).get(DEMANDS).json()["results"]}
    assert ids == {here.pk}
    done = as_user(liaison).post(f"{DEMANDS}{there.pk}/done/", {"note": "已办结"}, format="json")
    assert done.status_code == 404
    with pytest.raises(DomainError) as caught:
        services.complete_demand(demand=there, by=liaison, note="已办结")
    assert caught.value.code == "permission_denied"
    assert Demand.objects.get(pk=there.pk).status == Demand.Status.CLAIMED
    # While the tie stood, the claim was the unit's to finish.
    UnitRegistration.objects.filter(pk=withdrawn.pk).update(
        status=UnitRegistration.Status.APPROVED, approved_at=timezone.now()
    )
    assert as_user(liaison).post(f"{DEMANDS}{there.pk}/done/", {"note": "已办结"}, format="json").status_code == 200


def test_another_units_claim_in_a_shared_community_is_not_the_liaisons(several, community, as_user):
    liaison, _first, second = several
    claimed = _claimed_by_unit(community, second)  # the second unit is not tied to `community`
    assert claimed.pk not in {row["id"] for row in as_user(liaison).get(DEMANDS).json()["results"]}
    with pytest.raises(DomainError) as caught:
        services.complete_demand(demand=claimed, by=liaison, note="已办结")
    assert caught.value.code == "permission_denied"


def test_a_units_offer_where_its_tie_ended_is_no_longer_its_liaisons(community, other_community, as_user):
    liaison, unit = factories.UserFactory(), factories.UnitOrganizationFactory()
    registered_unit(other_community, liaison=liaison, organization=unit)
    unit_tie(community, organization=unit, filed_by=liaison, status=UnitRegistration.Status.WITHDRAWN)
    offer = Resource.objects.create(
        community=community, title="会议室", offered_by=factories.UserFactory(), organization=unit, is_active=False
    )
    assert as_user(liaison).get(f"{RESOURCES}{offer.pk}/").status_code == 404
    assert as_user(liaison).patch(f"{RESOURCES}{offer.pk}/", {"title": "改"}, format="json").status_code == 404
    with pytest.raises(DomainError) as caught:
        services.update_resource(resource=offer, by=liaison, title="改")
    assert caught.value.code == "permission_denied"
    assert Resource.objects.get(pk=offer.pk).title == "会议室"
