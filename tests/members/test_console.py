"""The console: scoped pages, decisions through the services, reads audited, the audit log for superusers."""

import pytest

from backend.accounts.models import PersonalDataAccess, Role, RoleGrant
from backend.members.models import MemberRegistration, ServicePost, UnitRegistration
from tests import factories
from tests.members.factories import PostFactory, RegistrationFactory, registered_member

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


def test_a_service_post_stays_in_its_community_when_staff_edit_it_in_the_console(client, community, other_community):
    post = PostFactory(community=community, name="楼道清洁岗")
    staff = factories.staff_of(community)
    factories.grant(staff, Role.COMMUNITY_STAFF, other_community)
    client.force_login(staff)
    response = client.post(
        f"/admin/members/servicepost/{post.pk}/change/",
        {"community": other_community.pk, "name": "楼道清洁岗", "description": "", "capacity": 3, "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    post.refresh_from_db()
    assert (post.community, post.capacity) == (community, 3)


def test_a_service_post_added_in_the_console_goes_through_create_post(client, community):
    PostFactory(community=community, name="文明引导岗")
    client.force_login(factories.staff_of(community))
    duplicate = client.post(
        "/admin/members/servicepost/add/",
        {"community": community.pk, "name": "文明引导岗", "description": "", "capacity": 2, "is_active": "on"},
        follow=True,
    )
    assert duplicate.status_code == 200  # the form again, with the refusal
    assert ServicePost.objects.filter(name="文明引导岗").count() == 1
    added = client.post(
        "/admin/members/servicepost/add/",
        {"community": community.pk, "name": "环境巡查岗", "description": "", "capacity": 2},
    )
    assert added.status_code == 302
    post = ServicePost.objects.get(name="环境巡查岗")
    assert (post.community, post.capacity, post.is_active) == (community, 2, False)


def test_points_rules_are_kept_by_their_streets_admins_only(community):
    from backend.core.errors import DomainError
    from backend.members import services

    street = community.street
    own = services.save_points_rule(
        by=factories.admin_of(street),
        rule=None,
        street=street,
        code="party_day",
        name="主题党日",
        points=3,
        yearly_cap=None,
        is_active=True,
    )
    assert own.street == street
    other_admin = factories.admin_of(factories.StreetFactory())
    for rule, target_street in ((own, street), (None, street), (None, None)):
        with pytest.raises(DomainError) as refused:
            services.save_points_rule(
                by=other_admin,
                rule=rule,
                street=target_street,
                code="party_day",
                name="改",
                points=9,
                yearly_cap=None,
                is_active=True,
            )
        assert refused.value.code == "permission_denied"
    with pytest.raises(DomainError) as duplicate:
        services.save_points_rule(
            by=factories.admin_of(street),
            rule=None,
            street=street,
            code="party_day",
            name="再来",
            points=1,
            yearly_cap=None,
            is_active=True,
        )
    assert "code" in duplicate.value.fields
    own.refresh_from_db()
    assert (own.name, own.points) == ("主题党日", 3)
