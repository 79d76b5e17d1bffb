"""A liaison reaches a unit's members, reports, demands and offers only through the ties they filed
themselves; a tie is withdrawn by its filer or the community's staff; withdrawing it ends only the
liaison grant its approval made."""

from types import SimpleNamespace

import pytest
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant
from backend.core.errors import DomainError
from backend.members import selectors, services
from backend.members.models import Demand, Resource, UnitRegistration
from backend.reports import services as report_services
from backend.reports.models import FeedbackReport
from tests import factories
from tests.members.factories import DemandFactory, registered_member

pytestmark = pytest.mark.django_db

UNITS = "/api/v1/members/unit-registrations/"
MEMBERS = "/api/v1/members/"
REPORTS = "/api/v1/members/reports/"
DEMANDS = "/api/v1/demands/"
RESOURCES = "/api/v1/resources/"


def _approved_tie(organization, community, filer):
    """Filed by `filer` and approved by the community's secretary, through the services."""
    registration = services.register_unit(
        by=filer, organization=organization, community=community, contact_name="联络员", contact_phone="13600000000"
    )
    return services.approve_unit_registration(registration=registration, by=factories.staff_of(community))


@pytest.fixture
def two_ties():
    """A unit tied with two communities of two streets, each tie filed by its own liaison."""
    unit = factories.UnitOrganizationFactory()
    here, there = factories.CommunityFactory(), factories.CommunityFactory()
    assert here.street_id != there.street_id
    ours, theirs = factories.UserFactory(), factories.UserFactory()
    their_tie = _approved_tie(unit, there, theirs)
    our_tie = _approved_tie(unit, here, ours)
    return SimpleNamespace(
        unit=unit, here=here, there=there, ours=ours, theirs=theirs, our_tie=our_tie, their_tie=their_tie
    )


def test_a_liaison_reads_only_the_members_of_their_own_ties_communities(two_ties, as_user):
    t = two_ties
    near = registered_member(t.here, organization=t.unit)
    far = registered_member(t.there, organization=t.unit)
    client = as_user(t.ours)
    assert [row["id"] for row in client.get(MEMBERS).json()["results"]] == [near.pk]
    assert client.get(f"{MEMBERS}{far.pk}/").status_code == 404
    assert client.get(f"{MEMBERS}{near.pk}/").status_code == 200
    assert selectors.liaison_community_ids(t.ours) == {t.here.pk}
    assert {row["id"] for row in client.get(UNITS).json()["results"]} == {t.our_tie.pk}
    assert client.get(f"{UNITS}{t.their_tie.pk}/").status_code == 404


def test_a_liaison_reads_the_units_report_for_their_own_ties_communities_only(two_ties, as_user):
    t = two_ties
    near = registered_member(t.here, organization=t.unit)
    far = registered_member(t.there, organization=t.unit)
    query = f"?organization={t.unit.pk}&period=2026"

    def lines(response):
        return {line["member_id"] for group in response.json()["communities"] for line in group["members"]}

    report = as_user(t.ours).get(f"{REPORTS}{query}")
    assert report.status_code == 200, report.json()
    assert lines(report) == {near.pk}
    assert [group["id"] for group in report.json()["communities"]] == [t.here.pk]
    assert lines(as_user(t.theirs).get(f"{REPORTS}{query}")) == {far.pk}
    export = as_user(t.ours).get(f"{REPORTS}export/{query}")
    assert export.status_code == 200
    assert far.real_name.encode() not in export.content

    kept = report_services.generate_feedback_report(organization=t.unit, period="2026")
    sent = as_user(t.ours).get(f"{REPORTS}sent/?organization={t.unit.pk}").json()["results"]
    assert [row["id"] for row in sent] == [kept.pk]
    assert {line["member_id"] for group in sent[0]["data"]["communities"] for line in group["members"]} == {near.pk}
    assert FeedbackReport.objects.get(pk=kept.pk).data["communities"]  # the kept report itself is whole


def test_a_liaison_claims_and_works_only_in_their_own_ties_communities(two_ties, as_user, resident):
    t = two_ties
    far_open = DemandFactory(community=t.there, requester=resident, contact_phone="13700001111")
    far_claimed = DemandFactory(
        community=t.there,
        status=Demand.Status.CLAIMED,
        claimed_by=factories.UserFactory(),
        claimed_organization=t.unit,
        claimed_at=timezone.now(),
    )
    near_open = DemandFactory(community=t.here, requester=resident)
    client = as_user(t.ours)
    assert {row["id"] for row in client.get(DEMANDS).json()["results"]} == {near_open.pk}
    claimed = client.post(f"{DEMANDS}{far_open.pk}/claim/", {"organization": t.unit.pk}, format="json")
    assert claimed.status_code == 404
    assert "13700001111" not in claimed.content.decode()
    with pytest.raises(DomainError) as caught:
        services.claim_demand(demand=far_open, by=t.ours, organization=t.unit)
    assert caught.value.code == "permission_denied"
    with pytest.raises(DomainError) as caught:
        services.complete_demand(demand=far_claimed, by=t.ours, note="已办结")
    assert caught.value.code == "permission_denied"
    assert Demand.objects.get(pk=far_open.pk).status == Demand.Status.OPEN
    assert Demand.objects.get(pk=far_claimed.pk).status == Demand.Status.CLAIMED
    near = client.post(f"{DEMANDS}{near_open.pk}/claim/", {"organization": t.unit.pk}, format="json")
    assert near.status_code == 200, near.json()


def test_a_liaison_offers_for_the_unit_only_in_their_own_ties_communities(two_ties, as_user):
    t = two_ties
    offered = as_user(t.ours).post(
        RESOURCES, {"community": t.there.pk, "organization": t.unit.pk, "title": "会议室"}, format="json"
    )
    assert offered.status_code == 400 and "organization" in offered.json()["fields"]
    t.theirs = Resource.objects.create(
        community=t.there, title="场地", offered_by=factories.UserFactory(), organization=t.unit, is_active=False
    )
    assert as_user(t.ours).get(f"{RESOURCES}{t.theirs.pk}/").status_code == 404
    with pytest.raises(DomainError):
        services.update_resource(resource=t.theirs, by=t.ours, title="改")
    assert Resource.objects.filter(organization=t.unit).count() == 1


def test_a_grant_made_by_hand_reaches_nothing_until_a_tie_its_holder_filed_is_approved(two_ties, as_user, resident):
    t = two_ties
    registered_member(t.here, organization=t.unit)
    demand = DemandFactory(community=t.here, requester=resident)
    by_hand = factories.UserFactory()
    factories.grant(by_hand, Role.UNIT_LIAISON, t.unit)
    client = as_user(by_hand)
    assert client.get(MEMBERS).status_code == 403
    assert client.get(f"{REPORTS}?organization={t.unit.pk}&period=2026").status_code == 404
    assert client.get(DEMANDS).json()["results"] == []
    assert client.post(f"{DEMANDS}{demand.pk}/claim/", {"organization": t.unit.pk}, format="json").status_code == 404
    assert client.post(RESOURCES, {"community": t.here.pk, "title": "场地"}, format="json").status_code == 403
    assert client.get(UNITS).json()["results"] == []
    assert selectors.liaison_community_ids(by_hand) == set()


def test_another_liaison_of_the_unit_may_not_withdraw_a_tie(two_ties, as_user):
    t = two_ties
    assert as_user(t.ours).delete(f"{UNITS}{t.their_tie.pk}/").status_code == 404
    with pytest.raises(DomainError) as caught:
        services.withdraw_unit_registration(registration=t.their_tie, by=t.ours)
    assert caught.value.code == "permission_denied"
    assert UnitRegistration.objects.get(pk=t.their_tie.pk).status == UnitRegistration.Status.APPROVED
    assert RoleGrant.objects.get(user=t.theirs, organization=t.unit).revoked_at is None


def test_a_liaison_who_sees_a_filing_of_another_may_not_withdraw_it(as_user):
    unit, community = factories.UnitOrganizationFactory(), factories.CommunityFactory()
    first, second = factories.UserFactory(), factories.UserFactory()
    pending = services.register_unit(
        by=first, organization=unit, community=community, contact_name="联络员", contact_phone="13600000000"
    )
    services.reject_unit_registration(registration=pending, by=factories.staff_of(community), reason="材料不全")
    _approved_tie(unit, community, second)
    refused = as_user(second).delete(f"{UNITS}{pending.pk}/")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert UnitRegistration.objects.get(pk=pending.pk).status == UnitRegistration.Status.REJECTED


@pytest.mark.parametrize("who", ["filer", "secretary", "street_admin"])
def test_the_filer_or_the_communitys_staff_withdraw_a_tie(who, as_user):
    unit, community = factories.UnitOrganizationFactory(), factories.CommunityFactory()
    filer = factories.UserFactory()
    tie = _approved_tie(unit, community, filer)
    caller = {
        "filer": filer,
        "secretary": factories.staff_of(community),
        "street_admin": factories.admin_of(community.street),
    }[who]
    assert as_user(caller).delete(f"{UNITS}{tie.pk}/").status_code == 204
    assert UnitRegistration.objects.get(pk=tie.pk).status == UnitRegistration.Status.WITHDRAWN
    assert RoleGrant.objects.get(user=filer, organization=unit).revoked_at is not None


def test_approval_records_the_grant_it_made_and_withdrawing_ends_it():
    unit, community = factories.UnitOrganizationFactory(), factories.CommunityFactory()
    filer = factories.UserFactory()
    tie = _approved_tie(unit, community, filer)
    grant = RoleGrant.objects.get(user=filer, role=Role.UNIT_LIAISON, organization=unit)
    assert tie.liaison_grant == grant and UnitRegistration.objects.get(pk=tie.pk).liaison_grant_id == grant.pk
    services.withdraw_unit_registration(registration=tie, by=filer)
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_withdrawing_a_tie_leaves_a_grant_made_by_hand():
    unit, community = factories.UnitOrganizationFactory(), factories.CommunityFactory()
    filer = factories.UserFactory()
    by_hand = factories.grant(filer, Role.UNIT_LIAISON, unit)  # as create_staff grants it
    tie = _approved_tie(unit, community, filer)
    assert tie.liaison_grant is None
    assert selectors.liaison_community_ids(filer) == {community.pk}
    services.withdraw_unit_registration(registration=tie, by=filer)
    by_hand.refresh_from_db()
    assert by_hand.revoked_at is None
    # The grant stands, but with no tie of the holder's own it reaches nothing.
    assert selectors.liaison_community_ids(filer) == set()


def test_a_grant_two_ties_share_ends_with_the_last_of_them():
    unit = factories.UnitOrganizationFactory()
    first_community, second_community = factories.CommunityFactory(), factories.CommunityFactory()
    filer = factories.UserFactory()
    first = _approved_tie(unit, first_community, filer)
    second = _approved_tie(unit, second_community, filer)
    grant = RoleGrant.objects.get(user=filer, organization=unit)
    assert first.liaison_grant == grant and second.liaison_grant == grant
    services.withdraw_unit_registration(registration=first, by=filer)
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert selectors.liaison_community_ids(filer) == {second_community.pk}
    services.withdraw_unit_registration(registration=second, by=filer)
    grant.refresh_from_db()
    assert grant.revoked_at is not None
