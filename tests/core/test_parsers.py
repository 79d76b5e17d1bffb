"""Hostile JSON bodies are the client's mistake (400 in the error format), never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from backend.core.parsers import MAX_DEPTH, check, loads
from devtools.fake_wechat import FakeWeChat
from tests.core.moderation_helpers import PUSH

pytestmark = pytest.mark.django_db

NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECT = b'{"phone": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b', "password": "x"}'
SURROGATE = b'{"phone": "\\ud800", "password": "x", "code": "\\udfff"}'
SURROGATE_KEY = b'{"\\ud83d": "x", "code": "abc"}'
HOSTILE = [NESTED, NESTED_OBJECT, SURROGATE, SURROGATE_KEY]
ENDPOINTS = [
    "/api/v1/auth/jwt/create/",
    "/api/v1/auth/jwt/refresh/",
    "/api/v1/auth/wechat/login/",
]


def post(client, path, body):
    return client.generic("POST", path, body, content_type="application/json")


@pytest.mark.parametrize("body", HOSTILE, ids=["nested", "nested-object", "surrogate", "surrogate-key"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_endpoints_answer_400(path, body, fake_wechat):
    response = post(APIClient(), path, body)
    assert response.status_code == 400, response.content[:200]
    assert response.json()["code"] == "parse_error"
    assert fake_wechat.requests == []


@pytest.mark.parametrize("body", HOSTILE, ids=["nested", "nested-object", "surrogate", "surrogate-key"])
def test_signed_in_endpoints_answer_400_and_write_nothing(as_user, resident, body):
    client = as_user(resident)
    before = resident.real_name
    response = client.generic("PATCH", "/api/v1/auth/users/me/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    resident.refresh_from_db()
    assert resident.real_name == before


@pytest.mark.parametrize("body", HOSTILE, ids=["nested", "nested-object", "surrogate", "surrogate-key"])
def test_the_push_answers_400(content_checks, body):
    query = FakeWeChat.signed_query(content_checks.push_token)
    from urllib.parse import urlencode

    response = post(APIClient(), f"{PUSH}?{urlencode(query)}", body)
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_the_depth_limit_is_exact():
    shallow: list = []
    for _ in range(MAX_DEPTH - 1):
        shallow = [shallow]
    assert check(shallow) is shallow
    with pytest.raises(Exception, match="嵌套"):
        check([shallow])


def test_ordinary_text_passes_and_nan_is_refused():
    assert loads('{"name": "张三 😀", "n": [1, {"a": null}]}') == {"name": "张三 😀", "n": [1, {"a": None}]}
    with pytest.raises(Exception, match="JSON"):
        loads("[NaN]")
