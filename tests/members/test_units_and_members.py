"""双报到 of units, the liaison it makes, the members list with its scope, masking and audit log."""

import pytest

from backend.accounts.models import PersonalDataAccess, Role, RoleGrant
from backend.core.errors import DomainError
from backend.core.events import Audience
from backend.members import services
from backend.members.models import UnitRegistration
from tests import factories
from tests.members.factories import (
    MemberFactory,
    file_registration,
    id_number,
    registered_member,
    registered_unit,
    unit_tie,
)

pytestmark = pytest.mark.django_db

UNITS = "/api/v1/members/unit-registrations/"
MEMBERS = "/api/v1/members/"


@pytest.fixture
def unit_org():
    return factories.UnitOrganizationFactory(name="市税务局机关党委", employer="市税务局")


def unit_payload(unit_org, community, **extra):
    return {
        "organization": unit_org.id,
        "community": community.id,
        "contact_name": "李联络",
        "contact_phone": "13912340000",
        "agreement_date": "2026-03-01",
        "resources": "党员志愿者 20 人; 会议室一间",
        **extra,
    }


def test_unit_registration_makes_the_filer_a_liaison_who_sees_only_their_members(
    unit_org, community, as_user, captured_events, django_capture_on_commit_callbacks
):
    filer = factories.UserFactory()
    filed = as_user(filer).post(UNITS, unit_payload(unit_org, community))
    assert filed.status_code == 201, filed.json()
    assert filed.json()["status"] == "pending"
    assert filed.json()["contact_phone"] == "139****0000"

    # Before approval the filer holds no role and sees no members.
    assert as_user(filer).get(MEMBERS).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        approved = as_user(factories.staff_of(community)).post(f"{UNITS}{filed.json()['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    grant = RoleGrant.objects.get(user=filer, role=Role.UNIT_LIAISON)
    approver = UnitRegistration.objects.get().decided_by
    assert grant.organization == unit_org and grant.granted_by == approver and approver is not None
    assert [(e, a) for e, _d, a in captured_events] == [("unit_registration.approved", Audience.user(filer))]

    unregistered = MemberFactory(organization=unit_org)  # claims the organisation, registered nowhere
    own = registered_member(community, organization=unit_org)
    other_unit_member = registered_member(community)  # same community, another organisation
    listed = as_user(filer).get(MEMBERS)
    assert listed.status_code == 200
    ids = {row["id"] for row in listed.json()["results"]}
    assert ids == {own.id}
    assert unregistered.id not in ids and other_unit_member.id not in ids
    assert as_user(filer).get(f"{MEMBERS}{other_unit_member.id}/").status_code == 404
    # Their reads are audited like staff reads.
    assert PersonalDataAccess.objects.filter(actor=filer, what="party_member").count() == 1


def test_second_active_unit_registration_is_409(unit_org, community, as_user):
    assert as_user(factories.UserFactory()).post(UNITS, unit_payload(unit_org, community)).status_code == 201
    again = as_user(factories.UserFactory()).post(UNITS, unit_payload(unit_org, community))
    assert again.status_code == 409
    assert again.json()["code"] == "already_registered"
    assert UnitRegistration.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contact_phone": "110"}, "contact_phone"),
        ({"community": 999999}, "community"),
        ({"contact_name": ""}, "contact_name"),
    ],
)
def test_unit_bad_input_is_400(unit_org, community, as_user, change, field):
    response = as_user(factories.UserFactory()).post(UNITS, {**unit_payload(unit_org, community), **change})
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not UnitRegistration.objects.exists()


def test_a_community_organisation_is_not_a_unit(community, as_user):
    branch = factories.OrganizationFactory(community=community)
    response = as_user(factories.UserFactory()).post(UNITS, unit_payload(branch, community))
    assert response.status_code == 400
    assert "organization" in response.json()["fields"]
    assert not UnitRegistration.objects.exists()


def test_unit_approval_by_another_community_is_404(unit_org, community, other_community, as_user):
    filer = factories.UserFactory()
    registration_id = as_user(filer).post(UNITS, unit_payload(unit_org, community)).json()["id"]
    response = as_user(factories.staff_of(other_community)).post(f"{UNITS}{registration_id}/approve/")
    assert response.status_code == 404
    assert not RoleGrant.objects.filter(user=filer).exists()
    assert UnitRegistration.objects.get().status == "pending"


def test_the_filer_rejecting_their_own_unit_registration_hears_403_not_400(unit_org, community, as_user):
    filer = factories.UserFactory()
    registration_id = as_user(filer).post(UNITS, unit_payload(unit_org, community)).json()["id"]
    with pytest.raises(DomainError) as caught:
        services.reject_unit_registration(
            registration=UnitRegistration.objects.get(pk=registration_id), by=filer, reason=""
        )
    assert caught.value.code == "permission_denied"
    assert UnitRegistration.objects.get().status == "pending"


def test_unit_reject_patch_and_withdraw(unit_org, community, as_user):
    filer = factories.UserFactory()
    client = as_user(filer)
    registration_id = client.post(UNITS, unit_payload(unit_org, community)).json()["id"]
    patched = client.patch(f"{UNITS}{registration_id}/", {"contact_name": "王联络"})
    assert patched.status_code == 200
    assert patched.json()["contact_name"] == "王联络"
    bad = client.patch(f"{UNITS}{registration_id}/", {"contact_phone": "1"})
    assert bad.status_code == 400
    secretary = as_user(factories.staff_of(community))
    rejected = secretary.post(f"{UNITS}{registration_id}/reject/", {"reason": "协议未签"})
    assert rejected.json()["status"] == "rejected"
    late_edit = client.patch(f"{UNITS}{registration_id}/", {"contact_name": "赵"})
    assert late_edit.status_code == 409
    assert late_edit.json()["code"] == "invalid_transition"

    second_id = client.post(UNITS, unit_payload(unit_org, community)).json()["id"]
    assert client.delete(f"{UNITS}{second_id}/").status_code == 204
    assert client.delete(f"{UNITS}{second_id}/").status_code == 204  # a retry changes nothing
    assert UnitRegistration.objects.get(pk=second_id).status == "withdrawn"
    assert as_user(factories.UserFactory()).delete(f"{UNITS}{second_id}/").status_code == 404


def test_members_list_scope_masking_and_audit(community, other_community, as_user):
    secretary = factories.staff_of(community)
    number = id_number("11010519491231002")
    here = registered_member(community, phone="13700001111")
    here.set_id_number(number)
    here.save()
    there = registered_member(other_community)

    response = as_user(secretary).get(MEMBERS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [here.id]
    row = rows[0]
    assert row["phone"] == "137****1111"
    assert row["id_number"] == "110***********" + number[-4:]
    assert number not in response.content.decode()
    assert row["status"] == "full"
    assert row["registration"]["community"] == community.id
    audit = PersonalDataAccess.objects.get()
    assert (audit.actor, audit.subject, audit.what, audit.object_id) == (secretary, here.user, "party_member", here.id)
    assert audit.path.startswith(MEMBERS)

    # Another community's member answers 404, and that read is not logged.
    assert as_user(secretary).get(f"{MEMBERS}{there.id}/").status_code == 404
    detail = as_user(secretary).get(f"{MEMBERS}{here.id}/")
    assert detail.status_code == 200
    assert detail.json()["phone"] == "137****1111"
    assert PersonalDataAccess.objects.count() == 2


def test_residents_do_not_see_the_members_list(community, resident, as_user):
    registered_member(community)
    response = as_user(resident).get(MEMBERS)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not PersonalDataAccess.objects.exists()


def test_a_member_reading_themselves_is_not_audited(community, as_user):
    member = registered_member(community)
    assert as_user(member.user).get(f"{MEMBERS}{member.id}/").status_code == 200
    assert as_user(member.user).get("/api/v1/members/me/").status_code == 200
    assert not PersonalDataAccess.objects.exists()


def test_members_filters(community, as_user):
    grid = factories.GridFactory(community=community)
    in_grid = registered_member(community, grid=grid, status="probationary")
    registered_member(community)
    secretary = as_user(factories.staff_of(community))
    by_grid = secretary.get(MEMBERS, {"grid": grid.id}).json()
    assert [r["id"] for r in by_grid["results"]] == [in_grid.id]
    by_status = secretary.get(MEMBERS, {"status": "probationary"}).json()
    assert [r["id"] for r in by_status["results"]] == [in_grid.id]
    assert secretary.get(MEMBERS, {"status": "nonsense"}).status_code == 400


def test_members_list_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    secretary = as_user(factories.staff_of(community))
    for _ in range(2):
        registered_member(community)
    with django_assert_max_num_queries(15) as few:
        assert secretary.get(MEMBERS).status_code == 200
    for _ in range(15):
        registered_member(community)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = secretary.get(MEMBERS)
    assert response.json()["count"] == 17
    assert PersonalDataAccess.objects.count() == 2 + 17


def test_unit_registration_list_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    secretary = as_user(factories.staff_of(community))

    def add(n):
        for _ in range(n):
            UnitRegistration.objects.create(
                organization=factories.UnitOrganizationFactory(),
                community=community,
                filed_by=factories.UserFactory(),
                contact_name="联络员",
                contact_phone="13600000000",
            )

    add(2)
    with django_assert_max_num_queries(8) as few:
        assert secretary.get(UNITS).status_code == 200
    add(15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = secretary.get(UNITS)
    assert response.json()["count"] == 17
    assert {row["contact_phone"] for row in response.json()["results"]} == {"136****0000"}


def test_me_for_someone_who_is_not_a_member(resident, as_user):
    me = as_user(resident).get("/api/v1/members/me/").json()
    assert me["member"] is None
    assert me["registrations"] == [] and me["posts"] == []
    assert me["points"]["total"] == 0
    assert me["privacy_notice_version"] == "2026-01"
    assert as_user(resident).get(MEMBERS + "999/").status_code == 404


# The co-building tie ---------------------------------------------------------------------------


def test_only_the_community_filed_to_approves_a_unit(unit_org, community, as_user):
    elsewhere = factories.CommunityFactory()  # another street
    filer = factories.UserFactory()
    registration = services.register_unit(
        by=filer, organization=unit_org, community=community, contact_name="李联络", contact_phone="13912340000"
    )
    for outsider in (factories.staff_of(elsewhere), factories.admin_of(elsewhere.street), filer):
        with pytest.raises(DomainError) as refused:
            services.approve_unit_registration(registration=registration, by=outsider)
        assert refused.value.code == "permission_denied"
        answer = as_user(outsider).post(f"{UNITS}{registration.pk}/approve/")
        assert answer.status_code in (403, 404)
    assert UnitRegistration.objects.get().status == "pending"
    assert not RoleGrant.objects.filter(user=filer).exists()

    staff = factories.staff_of(community)
    services.approve_unit_registration(registration=registration, by=staff)
    grant = RoleGrant.objects.get(user=filer)
    assert (grant.role, grant.organization_id, grant.granted_by_id) == (Role.UNIT_LIAISON, unit_org.pk, staff.pk)
    assert UnitRegistration.objects.get().community_id == community.pk


def test_a_liaison_sees_nothing_of_another_organisation_nor_of_applicants(unit_org, community, as_user):
    liaison = factories.UserFactory()
    registered_unit(community, liaison=liaison, organization=unit_org)
    own = registered_member(community, organization=unit_org)
    other_org = factories.UnitOrganizationFactory()
    other = registered_member(community, organization=other_org)
    applicant = factories.UserFactory()
    file_registration(applicant, community, unit_org)

    listed = as_user(liaison).get(MEMBERS).json()
    assert [row["id"] for row in listed["results"]] == [own.pk]
    assert as_user(liaison).get(f"{MEMBERS}{other.pk}/").status_code == 404
    assert as_user(liaison).get(f"{MEMBERS}?registration_status=pending").json()["results"] == []
    report = as_user(liaison).get(f"/api/v1/members/reports/?organization={other_org.pk}&period=2026")
    assert report.status_code == 404
    own_report = as_user(liaison).get(f"/api/v1/members/reports/?organization={unit_org.pk}&period=2026")
    assert own_report.status_code == 200, own_report.json()
    lines = [line["member_id"] for group in own_report.json()["communities"] for line in group["members"]]
    assert lines == [own.pk]


# Who decides a unit's filing, and what the liaison it makes reads --------------------------------


def test_a_secretary_cannot_approve_the_unit_registration_she_filed(unit_org, community, as_user):
    secretary = factories.staff_of(community)
    filed = as_user(secretary).post(UNITS, unit_payload(unit_org, community))
    assert filed.status_code == 201, filed.json()
    answer = as_user(secretary).post(f"{UNITS}{filed.json()['id']}/approve/")
    assert answer.status_code == 403
    assert answer.json()["code"] == "permission_denied"
    refused = as_user(secretary).post(f"{UNITS}{filed.json()['id']}/reject/", {"reason": "自己驳回"})
    assert refused.status_code == 403
    assert not RoleGrant.objects.filter(user=secretary, role=Role.UNIT_LIAISON).exists()
    assert UnitRegistration.objects.get().status == "pending"

    # Another secretary of the community decides it.
    services.approve_unit_registration(registration=UnitRegistration.objects.get(), by=factories.staff_of(community))
    assert RoleGrant.objects.filter(user=secretary, role=Role.UNIT_LIAISON, organization=unit_org).exists()


def test_plain_community_staff_cannot_make_a_liaison(unit_org, community, street, as_user):
    filer = factories.UserFactory()
    registration = services.register_unit(
        by=filer, organization=unit_org, community=community, contact_name="李联络", contact_phone="13912340000"
    )
    staff = factories.staff_of(community, Role.COMMUNITY_STAFF)
    with pytest.raises(DomainError) as refused:
        services.approve_unit_registration(registration=registration, by=staff)
    assert refused.value.code == "permission_denied"
    answer = as_user(staff).post(f"{UNITS}{registration.pk}/approve/")
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert not RoleGrant.objects.filter(user=filer).exists()
    assert UnitRegistration.objects.get().status == "pending"
    # Plain staff still refuse a filing: that grants nothing.
    assert as_user(staff).post(f"{UNITS}{registration.pk}/reject/", {"reason": "协议未签"}).status_code == 200

    second = services.register_unit(
        by=filer, organization=unit_org, community=community, contact_name="李联络", contact_phone="13912340000"
    )
    admin = factories.admin_of(street)
    assert as_user(admin).post(f"{UNITS}{second.pk}/approve/").status_code == 200
    assert RoleGrant.objects.get(user=filer, role=Role.UNIT_LIAISON).granted_by == admin


def test_a_liaison_reads_only_members_registered_where_the_unit_is(unit_org, community, other_community, as_user):
    liaison = factories.UserFactory()
    registered_unit(community, liaison=liaison, organization=unit_org)
    here = registered_member(community, organization=unit_org)
    elsewhere = registered_member(other_community, organization=unit_org)

    listed = as_user(liaison).get(MEMBERS)
    assert [row["id"] for row in listed.json()["results"]] == [here.pk]
    assert as_user(liaison).get(f"{MEMBERS}{elsewhere.pk}/").status_code == 404
    # Once the unit is registered (approved) with the other community too, its members there show.
    unit_tie(other_community, organization=unit_org, filed_by=liaison)
    listed = as_user(liaison).get(MEMBERS)
    assert {row["id"] for row in listed.json()["results"]} == {here.pk, elsewhere.pk}
    assert as_user(liaison).get(f"{MEMBERS}{elsewhere.pk}/").status_code == 200


def test_a_liaison_whose_unit_is_registered_nowhere_reads_no_report(unit_org, community, as_user):
    liaison = factories.UserFactory()
    factories.grant(liaison, Role.UNIT_LIAISON, unit_org)
    registered_member(community, organization=unit_org)
    listed = as_user(liaison).get(MEMBERS)
    assert listed.status_code == 403 and listed.json()["code"] == "permission_denied"
    report = as_user(liaison).get(f"/api/v1/members/reports/?organization={unit_org.pk}&period=2026")
    assert report.status_code == 404


# Ending the tie ends the liaison role -----------------------------------------------------------


def _approved_by_service(unit_org, community, filer):
    registration = services.register_unit(
        by=filer, organization=unit_org, community=community, contact_name="李联络", contact_phone="13912340000"
    )
    return services.approve_unit_registration(registration=registration, by=factories.staff_of(community))


@pytest.mark.parametrize("who", ["filer", "secretary"])
def test_withdrawing_an_approved_unit_registration_revokes_the_liaison_role(
    unit_org, community, as_user, monkeypatch, django_capture_on_commit_callbacks, who
):
    from backend.accounts.registry import session_closers

    closed: list[int] = []
    monkeypatch.setitem(session_closers._providers, "probe", closed.append)
    filer = factories.UserFactory()
    registration = _approved_by_service(unit_org, community, filer)
    registered_member(community, organization=unit_org)
    assert as_user(filer).get(MEMBERS).status_code == 200

    actor = filer if who == "filer" else factories.staff_of(community)
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(actor).delete(f"{UNITS}{registration.pk}/").status_code == 204
    grant = RoleGrant.objects.get(user=filer, role=Role.UNIT_LIAISON)
    assert grant.revoked_at is not None and grant.revoked_by == actor
    assert closed == [filer.pk]
    assert as_user(filer).get(MEMBERS).status_code == 403
    report = as_user(filer).get(f"/api/v1/members/reports/?organization={unit_org.pk}&period=2026")
    assert report.status_code == 403
    # A retry changes nothing.
    assert as_user(actor).delete(f"{UNITS}{registration.pk}/").status_code == 204
    assert RoleGrant.objects.filter(user=filer, revoked_at__isnull=True).count() == 0


def test_the_role_stays_while_another_approved_registration_grants_it(unit_org, community, other_community):
    filer = factories.UserFactory()
    first = _approved_by_service(unit_org, community, filer)
    _approved_by_service(unit_org, other_community, filer)
    services.withdraw_unit_registration(registration=first, by=filer)
    assert RoleGrant.objects.filter(user=filer, role=Role.UNIT_LIAISON, revoked_at__isnull=True).count() == 1


def test_withdrawing_a_pending_unit_registration_touches_no_role(unit_org, community):
    filer = factories.UserFactory()
    _approved_by_service(unit_org, community, filer)
    other_org = factories.UnitOrganizationFactory()
    pending = services.register_unit(
        by=filer, organization=other_org, community=community, contact_name="李联络", contact_phone="13912340000"
    )
    services.withdraw_unit_registration(registration=pending, by=filer)
    assert RoleGrant.objects.filter(user=filer, role=Role.UNIT_LIAISON, revoked_at__isnull=True).count() == 1
