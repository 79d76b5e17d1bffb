"""The API's JWT authentication: simplejwt's answers, the token verified once, the account in one statement."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from backend.accounts import authentication
from backend.accounts.authentication import JWTAuthentication, account_statement, verified_tokens
from backend.accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_tokens():
    verified_tokens.clear()
    yield
    verified_tokens.clear()


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_the_account_reads_as_the_orm_reads_it(community):
    user = factories.UserFactory(community=community, nickname="小王", wechat_openid="o-1")
    User.objects.filter(pk=user.pk).update(last_login=timezone.now(), anonymised_at=timezone.now())

    read, orm = account_statement.first([user.pk]), User.objects.get(pk=user.pk)

    assert read is not None and not read._state.adding and read._state.db == "default"
    for field in User._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
        assert type(getattr(read, field.attname)) is type(getattr(orm, field.attname)), field.name
    assert account_statement.first([user.pk + 1000]) is None


def test_a_signed_in_request_sends_one_statement_for_the_account(resident, django_assert_num_queries):
    token = RefreshToken.for_user(resident).access_token
    with django_assert_num_queries(1):
        assert authentication.JWTAuthentication().get_user(token) == resident
    # auth/users/me reads the account with its grants instead, in one statement (AccountInStatement).
    with django_assert_num_queries(1):
        assert bearer(token).get("/api/v1/auth/users/me/").status_code == 200


def test_a_token_is_verified_once_then_only_its_expiry_is_checked(resident, monkeypatch):
    token = str(RefreshToken.for_user(resident).access_token)
    client = bearer(token)
    assert client.get("/api/v1/auth/users/me/").status_code == 200

    def no_second_decode(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(authentication.authentication.JWTAuthentication, "get_validated_token", no_second_decode)
    assert client.get("/api/v1/auth/users/me/").status_code == 200


def test_an_expired_token_is_refused_though_it_was_verified_before(resident):
    token = AccessToken.for_user(resident)
    token.set_exp(lifetime=timedelta(seconds=3))
    client = bearer(token)
    assert client.get("/api/v1/auth/users/me/").status_code == 200

    time.sleep(max(0.0, token["exp"] - time.time()) + 0.1)
    response = client.get("/api/v1/auth/users/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_kept_token_past_its_expiry_is_not_served(resident, monkeypatch):
    raw = str(AccessToken.for_user(resident)).encode()
    JWTAuthentication().get_validated_token(raw)
    exp = verified_tokens._claims[raw]["exp"]

    monkeypatch.setattr(authentication.time, "time", lambda: exp - 1)
    assert verified_tokens.get(raw) is not None
    monkeypatch.setattr(authentication.time, "time", lambda: exp)
    assert verified_tokens.get(raw) is None


def test_a_forged_token_is_never_kept(resident):
    token = str(RefreshToken.for_user(resident).access_token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"

    for _ in range(2):
        assert bearer(forged).get("/api/v1/auth/users/me/").status_code == 401
    assert verified_tokens.get(forged.encode()) is None


def test_a_refresh_token_is_not_taken_as_an_access_token(resident):
    refresh = str(RefreshToken.for_user(resident))
    assert bearer(refresh).get("/api/v1/auth/users/me/").status_code == 401
    assert verified_tokens.get(refresh.encode()) is None


def test_a_deactivated_account_is_refused_with_a_token_verified_before(resident):
    client = bearer(RefreshToken.for_user(resident).access_token)
    assert client.get("/api/v1/auth/users/me/").status_code == 200

    User.objects.filter(pk=resident.pk).update(is_active=False)
    response = client.get("/api/v1/auth/users/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_deleted_account_is_refused(resident):
    client = bearer(RefreshToken.for_user(resident).access_token)
    User.objects.filter(pk=resident.pk).delete()
    response = client.get("/api/v1/auth/users/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_the_table_of_verified_tokens_stays_bounded(resident, monkeypatch):
    monkeypatch.setattr(verified_tokens, "size", 3)
    auth = JWTAuthentication()
    for _ in range(10):
        raw = str(AccessToken.for_user(resident)).encode()
        auth.get_validated_token(raw)
        assert verified_tokens.get(raw) is not None
    assert len(verified_tokens._claims) <= 3


# Views that read the account with their own statement (DeferredUserJWTAuthentication) answer a gone
# or inactive account exactly as the usual authentication does.
DEFERRED_READS = [
    ("get", "/api/v1/notices/"),
    ("get", "/api/v1/notices/?page_size=x"),
    ("get", "/api/v1/notices/unread-count/"),
    ("get", "/api/v1/volunteers/me/"),
    ("post", "/api/v1/activities/{activity}/check-in/"),
    ("post", "/api/v1/activities/999999/check-in/"),
]


@pytest.mark.parametrize("gone", [True, False], ids=["deleted", "deactivated"])
def test_views_reading_the_account_themselves_refuse_as_authentication_does(community, gone):
    from tests.activities.factories import ActivityFactory, enrol

    activity = ActivityFactory(community=community)
    user = enrol(activity).user
    client = bearer(RefreshToken.for_user(user).access_token)
    if gone:
        activity.enrollments.all().delete()
        User.objects.filter(pk=user.pk).delete()
    else:
        User.objects.filter(pk=user.pk).update(is_active=False)
    usual = client.get("/api/v1/auth/users/me/")
    assert usual.status_code == 401
    for method, path in DEFERRED_READS:
        response = getattr(client, method)(path.format(activity=activity.pk), {}, format="json")
        assert (response.status_code, response.json()) == (401, usual.json()), path
