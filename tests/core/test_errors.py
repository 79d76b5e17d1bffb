"""Every error leaves in one format: {"code", "detail", "fields"?}."""

import pytest

from backend.communities.models import Estate, Street
from backend.core import throttling
from tests import factories

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"code", "detail", "fields"}
    return body


def test_unknown_path_is_json_404(api):
    assert_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_missing_object_is_not_found(api):
    assert_error(api.get("/api/v1/streets/999999/"), 404, "not_found")


def test_method_not_allowed(api):
    assert_error(api.delete("/api/v1/streets/"), 405, "method_not_allowed")


def test_not_authenticated(api):
    assert_error(api.get("/api/v1/estates/"), 401, "not_authenticated")


def test_bad_token(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(api.get("/api/v1/estates/"), 401, "token_invalid")


def test_validation_error_has_fields(community, as_user):
    secretary = factories.staff_of(community)
    body = assert_error(
        as_user(secretary).post("/api/v1/estates/", {"community": community.id, "households": -3}),
        400,
        "validation_error",
    )
    assert set(body["fields"]) == {"name", "households"}
    assert not Estate.objects.exists()


def test_malformed_json_is_parse_error(community, as_user):
    secretary = factories.staff_of(community)
    response = as_user(secretary).generic("POST", "/api/v1/estates/", '{"name": ', content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert not Estate.objects.exists()


def test_permission_denied_for_a_resident(resident, community, as_user):
    response = as_user(resident).post("/api/v1/estates/", {"community": community.id, "name": "x"})
    assert_error(response, 403, "permission_denied")
    assert not Estate.objects.exists()


def test_throttled(api, monkeypatch):
    monkeypatch.setitem(throttling.AnonThrottle.THROTTLE_RATES, "anon", "2/min")
    api.get("/api/v1/streets/")
    api.get("/api/v1/streets/")
    body = assert_error(api.get("/api/v1/streets/"), 429, "throttled")
    assert "fields" not in body


def test_unexpected_error_is_server_error_without_trace(api, settings):
    settings.ROOT_URLCONF = "tests.core.urls_boom"
    response = api.get("/boom/")
    assert_error(response, 500, "server_error")
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content


def test_page_size_capped_at_100(api):
    Street.objects.bulk_create([Street(name=f"街道{i}", city="测试市") for i in range(120)])
    body = api.get("/api/v1/streets/?page_size=500").json()
    assert body["count"] == 120
    assert len(body["results"]) == 100
    assert body["next"]


def test_next_link_uses_forwarded_host_behind_proxy(api, settings):
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["party.example.org", "testserver"]
    Street.objects.bulk_create([Street(name=f"街道{i}", city="测试市") for i in range(3)])
    body = api.get(
        "/api/v1/streets/?page_size=1", HTTP_X_FORWARDED_HOST="party.example.org", HTTP_X_FORWARDED_PROTO="https"
    ).json()
    assert body["next"].startswith("https://party.example.org/api/v1/streets/")
    assert body["previous"] is None


def test_list_query_count_does_not_grow(api, django_assert_max_num_queries):
    street = factories.StreetFactory()
    factories.CommunityFactory.create_batch(3, street=street)
    with django_assert_max_num_queries(2) as few:
        api.get("/api/v1/communities/")
    factories.CommunityFactory.create_batch(30, street=street)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/v1/communities/").json()["results"]) == 20
