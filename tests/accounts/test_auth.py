"""Console accounts: JWT by phone and password, refresh rotation, and the profile."""

import pytest

from backend.accounts.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Word-123"


def login(api, phone, password=PASSWORD):
    return api.post("/api/v1/auth/jwt/create/", {"phone": phone, "password": password})


def test_jwt_create_with_phone_and_password(api, resident):
    response = login(api, resident.phone)
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access", "refresh"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api.get("/api/v1/auth/users/me/").json()["id"] == resident.id


def test_wrong_password_is_refused_in_error_format(api, resident):
    response = login(api, resident.phone, "wrong-password")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_wechat_only_user_cannot_log_in_with_a_password(api):
    user = factories.UserFactory(phone="13900000077")
    user.set_unusable_password()
    user.save()
    assert login(api, "13900000077", "").status_code == 400
    assert login(api, "13900000077", "anything").status_code == 401


def test_refresh_rotates_and_a_used_refresh_is_refused(api, resident):
    first = login(api, resident.phone).json()
    rotated = api.post("/api/v1/auth/jwt/refresh/", {"refresh": first["refresh"]})
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]

    reused = api.post("/api/v1/auth/jwt/refresh/", {"refresh": first["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_invalid"

    # The rotated token still works once.
    assert api.post("/api/v1/auth/jwt/refresh/", {"refresh": rotated.json()["refresh"]}).status_code == 200


def test_refresh_with_garbage_is_refused(api):
    response = api.post("/api/v1/auth/jwt/refresh/", {"refresh": "garbage"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_me_lists_roles_with_scope_and_unmasked_own_phone(community, as_user):
    secretary = factories.staff_of(community)
    grid = factories.GridFactory(community=community)
    factories.grant(secretary, Role.GRID_WORKER, grid)
    body = as_user(secretary).get("/api/v1/auth/users/me/").json()
    assert body["phone"] == secretary.phone
    assert body["is_staff"] is True
    roles = {(r["role"], r["community"], r["grid"]) for r in body["roles"]}
    assert roles == {("community_secretary", community.id, None), ("grid_worker", None, grid.id)}


def test_me_reads_the_grants_once_for_roles_and_staff(resident, community, as_user, django_assert_num_queries):
    from django.utils import timezone

    # One statement: the account with its live grants, which decide both `roles` and `is_staff`.
    client = as_user(resident)
    with django_assert_num_queries(1):
        body = client.get("/api/v1/auth/users/me/").json()
    assert body["roles"] == [] and body["is_staff"] is False
    revoked = factories.grant(resident, Role.COMMUNITY_STAFF, community)
    revoked.revoked_at = timezone.now()
    revoked.save()
    factories.grant(resident, Role.GRID_WORKER, factories.GridFactory(community=community))
    client = as_user(resident)
    with django_assert_num_queries(1):
        body = client.get("/api/v1/auth/users/me/").json()
    assert [r["role"] for r in body["roles"]] == ["grid_worker"] and body["is_staff"] is False
    factories.grant(resident, Role.COMMUNITY_STAFF, community)
    body = as_user(resident).get("/api/v1/auth/users/me/").json()
    assert body["is_staff"] is True and len(body["roles"]) == 2


def test_me_patch_sets_home_community(resident, community, as_user):
    response = as_user(resident).patch("/api/v1/auth/users/me/", {"community": community.id, "real_name": "张三"})
    assert response.status_code == 200, response.json()
    resident.refresh_from_db()
    assert resident.community_id == community.id
    assert resident.real_name == "张三"


def test_me_patch_by_method_override(resident, community, as_user):
    response = as_user(resident).post(
        "/api/v1/auth/users/me/", {"community": community.id}, HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 200, response.json()
    resident.refresh_from_db()
    assert resident.community_id == community.id


def test_me_patch_rejects_unknown_community_and_ignores_phone(resident, as_user):
    response = as_user(resident).patch("/api/v1/auth/users/me/", {"community": 999999})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "community" in response.json()["fields"]
    original = resident.phone
    as_user(resident).patch("/api/v1/auth/users/me/", {"phone": "13812345678"})
    resident.refresh_from_db()
    assert resident.phone == original
    assert resident.community_id is None


def test_only_the_me_routes_of_djoser_are_mounted(api, resident, as_user):
    assert as_user(resident).get("/api/v1/auth/users/").status_code == 404
    assert api.post("/api/v1/auth/users/", {"phone": "13800000000", "password": "x"}).status_code == 404
    assert api.post("/api/v1/auth/users/reset_password/", {"email": "x"}).status_code == 404


# Throttles by type: a JSON number for the phone was counted by no throttle ------------------------


@pytest.mark.parametrize("phone", [13800000000, 1.38e10, ["13800000000"], {"n": 1}, True])
def test_a_phone_that_is_not_a_string_is_refused(api, resident, phone):
    response = api.post("/api/v1/auth/jwt/create/", {"phone": phone, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "phone" in response.json()["fields"]


def test_guessing_one_phone_is_throttled_whatever_its_spelling(api, resident, settings):
    """Ten wrong passwords for one account, then the eleventh is refused, with spaces or as a number."""
    resident.phone = "13800000999"
    resident.save(update_fields=["phone"])
    for _ in range(10):
        assert login(api, "13800000999", "wrong").status_code == 401
    assert (
        api.post("/api/v1/auth/jwt/create/", {"phone": 13800000999, "password": "x"}, format="json").status_code == 400
    )
    response = login(api, " 13800000999 ", PASSWORD)
    assert response.status_code == 429 and response.json()["code"] == "throttled"


# The refresh race: one refresh token, many refreshes at once --------------------------------------

REFRESH = "/api/v1/auth/jwt/refresh/"


def test_a_refresh_that_passed_the_blacklist_check_with_another_still_loses(api, resident, monkeypatch):
    """Two refreshes of one token that both passed the blacklist check (as parallel ones do) get
    one new token between them: the second to write its blacklist row is refused."""
    from rest_framework_simplejwt.tokens import BlacklistMixin

    token = login(api, resident.phone).json()["refresh"]
    monkeypatch.setattr(BlacklistMixin, "check_blacklist", lambda self: None)
    assert api.post(REFRESH, {"refresh": token}).status_code == 200
    second = api.post(REFRESH, {"refresh": token})
    assert second.status_code == 401 and second.json()["code"] == "token_invalid"


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_refreshes_with_one_token_succeed_once(resident):
    from django.db import connection

    from tests.concurrency import together

    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database locks out a second writing thread; run on PostgreSQL")
    from rest_framework.test import APIClient

    token = login(APIClient(), resident.phone).json()["refresh"]
    responses = together([lambda: APIClient().post(REFRESH, {"refresh": token}) for _ in range(10)])
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert sorted(r.status_code for r in responses) == [200] + [401] * 9
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    assert APIClient().post(REFRESH, {"refresh": winner["refresh"]}).status_code == 200
