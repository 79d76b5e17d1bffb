"""The console: scoped pages, decisions through the services, reads audited, the audit log for superusers."""

import pytest

from backend.accounts.models import PersonalDataAccess, Role, RoleGrant
from backend.members.models import MemberRegistration, UnitRegistration
from tests import factories
from tests.members.factories import RegistrationFactory, registered_member

pytestmark = pytest.mark.django_db


def test_secretary_approves_registrations_of_their_community_only(client, community, other_community):
    mine = RegistrationFactory(community=community)
    theirs = RegistrationFactory(community=other_community)
    client.force_login(factories.staff_of(community))
    page = client.get("/admin/members/memberregistration/")
    assert page.status_code == 200
    assert mine.real_name in page.content.decode() and theirs.real_name not in page.content.decode()
    response = client.post(
        "/admin/members/memberregistration/",
        {"action": "approve", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 302
    assert MemberRegistration.objects.get(pk=mine.pk).status == "approved"
    assert MemberRegistration.objects.get(pk=theirs.pk).status == "pending"
    # The list page was a read of the member's details: audited.
    assert PersonalDataAccess.objects.filter(subject=mine.member.user, what="member_registration").exists()
    assert not PersonalDataAccess.objects.filter(subject=theirs.member.user).exists()


def test_unit_approval_in_the_console_grants_the_liaison_role(client, community):
    filer = factories.UserFactory()
    registration = UnitRegistration.objects.create(
        organization=factories.UnitOrganizationFactory(),
        community=community,
        filed_by=filer,
        contact_name="联络员",
        contact_phone="13600000000",
    )
    client.force_login(factories.staff_of(community))
    client.post("/admin/members/unitregistration/", {"action": "approve", "_selected_action": [registration.pk]})
    assert RoleGrant.objects.filter(user=filer, role=Role.UNIT_LIAISON, organization=registration.organization).exists()


def test_member_pages_are_masked_and_audited(client, community):
    member = registered_member(community, phone="13800001234")
    secretary = factories.staff_of(community)
    client.force_login(secretary)
    listing = client.get("/admin/members/partymember/")
    assert listing.status_code == 200
    assert "138****1234" in listing.content.decode() and "13800001234" not in listing.content.decode()
    detail = client.get(f"/admin/members/partymember/{member.pk}/change/")
    assert detail.status_code == 200
    assert "13800001234" not in detail.content.decode()
    assert PersonalDataAccess.objects.filter(actor=secretary, subject=member.user).count() == 2


def test_audit_log_is_for_superusers_only(client, community):
    client.force_login(factories.staff_of(community))
    assert client.get("/admin/accounts/personaldataaccess/").status_code == 403
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    assert client.get("/admin/accounts/personaldataaccess/").status_code == 200
