"""Role grants: street admins grant inside their street, secretaries the staff roles of their community."""

import pytest

from backend.accounts import services
from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import get_scope
from backend.core.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def street_admin(street):
    return factories.admin_of(street)


def test_street_admin_grants_a_secretary_in_their_street(street_admin, community, as_user):
    user = factories.UserFactory(phone="13700000001", real_name="李书记", community=community)
    client = as_user(street_admin)
    payload = {"phone": "13700000001", "role": "community_secretary", "community": community.id}
    response = client.post("/api/v1/accounts/roles/", payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "community_secretary"
    assert body["community"] == community.id
    assert body["user"] == {"id": user.pk, "real_name": "李书记", "phone": "137****0001"}

    again = client.post("/api/v1/accounts/roles/", payload)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert RoleGrant.objects.count() == 2  # the admin's own grant and this one


def test_street_admin_cannot_grant_in_another_street(street_admin, as_user):
    foreign = factories.CommunityFactory()
    response = as_user(street_admin).post(
        "/api/v1/accounts/roles/", {"phone": "13700000002", "role": "community_staff", "community": foreign.id}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "community" in response.json()["fields"]
    assert not User.objects.filter(phone="13700000002").exists()


def test_secretary_grants_staff_and_grid_workers_of_own_community(community, as_user):
    secretary = factories.staff_of(community)
    grid = factories.GridFactory(community=community)
    factories.UserFactory(phone="13700000003", community=community)
    factories.UserFactory(phone="13700000004", community=community)
    client = as_user(secretary)
    staff = client.post(
        "/api/v1/accounts/roles/", {"phone": "13700000003", "role": "community_staff", "community": community.id}
    )
    worker = client.post("/api/v1/accounts/roles/", {"phone": "13700000004", "role": "grid_worker", "grid": grid.id})
    assert staff.status_code == 201, staff.json()
    assert worker.status_code == 201, worker.json()


def test_secretary_cannot_make_another_secretary(community, as_user):
    secretary = factories.staff_of(community)
    response = as_user(secretary).post(
        "/api/v1/accounts/roles/", {"phone": "13700000005", "role": "community_secretary", "community": community.id}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(phone="13700000005").exists()


def test_secretary_cannot_grant_in_another_community(community, other_community, as_user):
    secretary = factories.staff_of(community)
    response = as_user(secretary).post(
        "/api/v1/accounts/roles/", {"phone": "13700000006", "role": "community_staff", "community": other_community.id}
    )
    assert response.status_code == 400
    assert "community" in response.json()["fields"]
    assert RoleGrant.objects.filter(community=other_community).count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"role": "community_staff"},  # no scope
        {"role": "community_staff", "grid": "GRID"},  # wrong kind of scope
        {"role": "no_such_role", "community": "COMMUNITY"},
        {"phone": "12345", "role": "community_staff", "community": "COMMUNITY"},
    ],
)
def test_bad_grants_are_validation_errors(payload, community, as_user):
    secretary = factories.staff_of(community)
    grid = factories.GridFactory(community=community)
    body = {"phone": "13700000007", **payload}
    body = {k: {"GRID": grid.id, "COMMUNITY": community.id}.get(v, v) for k, v in body.items()}
    before = RoleGrant.objects.count()
    response = as_user(secretary).post("/api/v1/accounts/roles/", body)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert RoleGrant.objects.count() == before


def test_people_without_a_managing_role_are_refused(community, as_user):
    staff = factories.staff_of(community, Role.COMMUNITY_STAFF)
    response = as_user(staff).get("/api/v1/accounts/roles/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_list_shows_only_grants_in_scope(community, other_community, as_user, django_assert_max_num_queries):
    secretary = factories.staff_of(community)
    factories.staff_of(other_community)
    for _ in range(3):
        factories.staff_of(community, Role.COMMUNITY_STAFF)
    client = as_user(secretary)
    with django_assert_max_num_queries(8) as few:
        body = client.get("/api/v1/accounts/roles/").json()
    assert body["count"] == 4
    assert {g["community"] for g in body["results"]} == {community.id}
    for _ in range(10):
        factories.staff_of(community, Role.COMMUNITY_STAFF)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/accounts/roles/").json()["count"] == 14


def test_revoke_keeps_history_and_foreign_grants_are_not_found(community, other_community, as_user):
    secretary = factories.staff_of(community)
    staff = factories.staff_of(community, Role.COMMUNITY_STAFF)
    foreign = factories.staff_of(other_community, Role.COMMUNITY_STAFF)
    grant = staff.role_grants.get()
    client = as_user(secretary)
    assert client.delete(f"/api/v1/accounts/roles/{grant.id}/").status_code == 204
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == secretary
    assert not get_scope(User.objects.get(pk=staff.pk)).is_staff

    foreign_grant = foreign.role_grants.get()
    response = client.delete(f"/api/v1/accounts/roles/{foreign_grant.id}/")
    assert response.status_code == 404
    foreign_grant.refresh_from_db()
    assert foreign_grant.revoked_at is None


def test_grant_service_refuses_out_of_scope_and_is_idempotent(street, community):
    admin = factories.admin_of(street)
    target = factories.UserFactory()
    grant, created = services.grant_role(granter=admin, user=target, role=Role.COMMUNITY_STAFF, community=community)
    assert created
    same, created_again = services.grant_role(
        granter=admin, user=target, role=Role.COMMUNITY_STAFF, community=community
    )
    assert same.pk == grant.pk and not created_again

    outsider = factories.admin_of(factories.StreetFactory())
    with pytest.raises(DomainError) as refused:
        services.grant_role(granter=outsider, user=target, role=Role.COMMUNITY_SECRETARY, community=community)
    assert refused.value.code == "permission_denied"


def test_grant_service_requires_matching_scope(community):
    with pytest.raises(DomainError) as refused:
        services.grant_role(granter=None, user=factories.UserFactory(), role=Role.STREET_ADMIN, community=community)
    assert refused.value.code == "validation_error"


def test_scope_of_a_street_admin_covers_its_communities_only(street, community, other_community):
    admin = factories.admin_of(street)
    elsewhere = factories.CommunityFactory()
    scope = get_scope(admin)
    assert {community.id, other_community.id} <= scope.community_ids
    assert elsewhere.id not in scope.community_ids


# Role grants are no phone directory ----------------------------------------------------------------

GRANTS = "/api/v1/accounts/roles/"


def snapshot_accounts() -> list[tuple]:
    return list(User.objects.order_by("pk").values_list("pk", "phone", "real_name", "nickname", "community_id"))


@pytest.mark.parametrize("where", ["nowhere", "other_street", "other_community", "inactive"])
def test_a_phone_the_granter_may_not_see_is_as_unknown_as_no_account(where, community, other_community, as_user):
    """Across streets, communities, or no account at all: the same 400, no name, nothing written."""
    secretary = factories.staff_of(community)
    phone = "13700000201"
    if where == "other_street":
        factories.UserFactory(phone=phone, real_name="王外街", community=factories.CommunityFactory())
    elif where == "other_community":
        factories.UserFactory(phone=phone, real_name="王外社", community=other_community)
    elif where == "inactive":
        factories.UserFactory(phone=phone, real_name="王停用", community=community, is_active=False)
    before, grants = snapshot_accounts(), RoleGrant.objects.count()
    response = as_user(secretary).post(
        GRANTS, {"phone": phone, "real_name": "冒名", "role": "community_staff", "community": community.id}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and list(body["fields"]) == ["phone"]
    assert "王" not in response.content.decode() and "冒名" not in response.content.decode()
    assert snapshot_accounts() == before and RoleGrant.objects.count() == grants


def test_a_grant_never_creates_an_account_nor_writes_a_name(street_admin, community, as_user):
    nameless = factories.UserFactory(phone="13700000202", real_name="", community=community)
    response = as_user(street_admin).post(
        GRANTS, {"phone": "13700000202", "real_name": "张冒名", "role": "community_staff", "community": community.id}
    )
    assert response.status_code == 201, response.json()
    nameless.refresh_from_db()
    assert nameless.real_name == ""
    before = User.objects.count()
    missing = as_user(street_admin).post(
        GRANTS, {"phone": "13700000203", "role": "community_staff", "community": community.id}
    )
    assert missing.status_code == 400 and User.objects.count() == before


def test_a_role_holder_in_scope_may_be_granted_more(community, as_user):
    """Someone living elsewhere who already works here (a grid worker of this community) is seen."""
    secretary = factories.staff_of(community)
    worker = factories.UserFactory(phone="13700000204", community=None)
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    response = as_user(secretary).post(
        GRANTS, {"phone": "13700000204", "role": "community_staff", "community": community.id}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["id"] == worker.pk


def test_the_grant_service_by_phone_refuses_before_looking(community, other_community):
    secretary = factories.staff_of(community)
    factories.UserFactory(phone="13700000205", community=other_community)
    with pytest.raises(DomainError) as refused:
        services.grant_role_by_phone(
            granter=secretary, phone="13700000205", role=Role.COMMUNITY_STAFF, community=other_community
        )
    assert refused.value.code == "permission_denied"
    with pytest.raises(DomainError) as unknown:
        services.grant_role_by_phone(
            granter=secretary, phone="13700000205", role=Role.COMMUNITY_STAFF, community=community
        )
    assert unknown.value.code == "validation_error" and "phone" in unknown.value.fields


def test_nobody_grants_themselves_a_role(community, as_user):
    # A role granted to oneself would outlive the grant it came from when that one is revoked.
    secretary = factories.staff_of(community)
    secretary.phone = "13800000002"
    secretary.save(update_fields=["phone"])
    response = as_user(secretary).post(
        "/api/v1/accounts/roles/", {"phone": "13800000002", "role": "community_staff", "community": community.id}
    )
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"
    assert RoleGrant.objects.filter(user=secretary).count() == 1
    with pytest.raises(DomainError):
        services.grant_role(
            granter=secretary, user=secretary, role=Role.GRID_WORKER, grid=factories.GridFactory(community=community)
        )
