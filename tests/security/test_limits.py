"""Limits: page size, body and upload caps, the socket's message cap, throttles, X-Forwarded-For.

Each test names its limit with `@pytest.mark.limit(...)`; the `limits` figure counts them by
outcome (tests/security/conftest.py): a test that passes held, one that fails or errors broke.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from backend.appeals.models import Appeal
from backend.core.models import Upload
from backend.notices import consumers
from tests import factories
from tests.notices.helpers import socket_of_new_user

pytestmark = [pytest.mark.security]

ROOT = Path(__file__).resolve().parents[2]


def _from(address: str, forwarded: str | None = None) -> dict[str, str]:
    meta = {"REMOTE_ADDR": address}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return meta


def _statuses(send, times: int) -> list[int]:
    return [send(i).status_code for i in range(times)]


@pytest.mark.django_db
@pytest.mark.limit("page size")
def test_page_size_is_capped_at_100():
    factories.StreetFactory.create_batch(105)
    body = APIClient().get("/api/v1/streets/?page_size=1000").json()
    assert body["count"] >= 105
    assert len(body["results"]) == 100


@pytest.mark.django_db
@pytest.mark.limit("request body 413")
def test_json_body_over_the_cap_is_413_and_stores_nothing(as_user, community, settings):
    body = json.dumps({"client_id": str(uuid.uuid4()), "community": community.pk, "category": "other", "content": "x"})
    big = body[:-2] + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    response = as_user(factories.UserFactory()).generic(
        "POST", "/api/v1/appeals/", big, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not Appeal.objects.exists()


@pytest.mark.django_db
@pytest.mark.limit("upload 413")
def test_upload_over_the_cap_is_413_and_stores_nothing(as_user, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    from backend.core import upload_views

    too_big = b"%PDF-1.4\n" + b"0" * (settings.UPLOAD_MAX_BYTES + upload_views.MULTIPART_OVERHEAD + 1)
    upload = SimpleUploadedFile("big.pdf", too_big, content_type="application/pdf")
    response = as_user(factories.UserFactory()).post("/api/v1/uploads/", {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not Upload.objects.exists()


def _daphne_cap(text: str) -> int:
    match = re.search(r"--websocket-max-message-size[= ](\d+)", text)
    assert match, "daphne runs without --websocket-max-message-size"
    return int(match.group(1))


@pytest.mark.limit("socket frame cap (daphne)")
def test_daphne_caps_socket_messages_in_compose_and_make_run():
    caps = {
        "compose.yaml": _daphne_cap((ROOT / "compose.yaml").read_text()),
        "scripts/run.sh": _daphne_cap((ROOT / "scripts" / "run.sh").read_text()),
    }
    assert len(set(caps.values())) == 1, caps
    # The consumer's own limit is in characters; UTF-8 takes up to 4 bytes each. Anything longer is
    # refused by daphne (close 1009) before the consumer is involved.
    cap = next(iter(caps.values()))
    assert consumers.MAX_MESSAGE_CHARS * 3 <= cap <= 64 * 1024


@pytest.mark.django_db(transaction=True)
@pytest.mark.limit("socket message refused (consumer)")
async def test_the_consumer_refuses_an_oversized_message(settings):
    socket = await socket_of_new_user(settings)
    try:
        accepted, _ = await socket.connect()
        assert accepted
        assert (await socket.receive_json_from())["type"] == "hello"
        await socket.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * consumers.MAX_MESSAGE_CHARS}))
        answer = await socket.receive_json_from()
        assert answer == {"type": "error", "code": "validation_error", "detail": answer["detail"]}
        # Still usable afterwards: the refusal is of the message, not of the user.
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from())["type"] == "pong"
    finally:
        await socket.disconnect()


@pytest.mark.django_db
@pytest.mark.limit("login throttle")
def test_password_login_is_throttled_per_address_and_per_phone(api):
    user = factories.UserFactory()

    def wrong(i: int, *, phone: str, address: str):
        return api.post("/api/v1/auth/jwt/create/", {"phone": phone, "password": f"nope-{i}"}, **_from(address))

    # Per address: different phones from one address.
    statuses = _statuses(lambda i: wrong(i, phone=f"1370000{i:04d}", address="203.0.113.1"), 21)
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    # Per phone: one account tried from ever new addresses.
    statuses = _statuses(lambda i: wrong(i, phone=user.phone, address=f"198.51.100.{i + 1}"), 11)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    throttled = wrong(99, phone=user.phone, address="198.51.100.200")
    assert throttled.json()["code"] == "throttled" and "Retry-After" in throttled


@pytest.mark.django_db
@pytest.mark.limit("WeChat login throttle")
def test_wechat_login_is_throttled_per_code(api, fake_wechat):
    statuses = _statuses(lambda i: api.post("/api/v1/auth/wechat/login/", {"code": "same-code"}), 6)
    assert 429 not in statuses[:5] and statuses[5] == 429


@pytest.mark.django_db
@pytest.mark.limit("appeal filing throttle")
def test_appeal_filing_is_throttled_per_user(as_user):
    client = as_user(factories.UserFactory())
    statuses = _statuses(lambda i: client.post("/api/v1/appeals/", {"client_id": "not-a-uuid"}), 31)
    assert statuses[:30] == [400] * 30 and statuses[30] == 429


@pytest.mark.django_db
@pytest.mark.limit("check-in throttle")
def test_check_in_is_throttled_per_user(as_user, community):
    from tests.activities.factories import ActivityFactory

    activity = ActivityFactory(community=community)
    client = as_user(factories.UserFactory())
    path = f"/api/v1/activities/{activity.pk}/check-in/"
    statuses = _statuses(lambda i: client.post(path, {"token": "x"}), 31)
    assert 429 not in statuses[:30] and statuses[30] == 429


@pytest.mark.django_db
@pytest.mark.limit("X-Forwarded-For ignored without proxies")
def test_a_spoofed_forwarded_for_does_not_change_the_throttle_identity(api, settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXIES == 0

    def login(i: int, forwarded: str):
        body = {"phone": f"1360000{i:04d}", "password": "nope"}
        return api.post("/api/v1/auth/jwt/create/", body, **_from("203.0.113.7", forwarded))

    # No proxies configured: every request is from its socket's address, whatever the header says.
    statuses = _statuses(lambda i: login(i, f"10.9.{i}.1"), 21)
    assert statuses[20] == 429, statuses


@pytest.mark.django_db
@pytest.mark.limit("X-Forwarded-For behind the proxies")
def test_forwarded_for_is_read_behind_the_configured_proxies(api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def login(i: int, forwarded: str):
        body = {"phone": f"1350000{i:04d}", "password": "nope"}
        return api.post("/api/v1/auth/jwt/create/", body, **_from("10.0.0.2", forwarded))

    # One proxy (nginx) appends the client's address: the last entry is the client, the rest is theirs to say.
    statuses = _statuses(lambda i: login(i, f"6.6.6.{i}, 192.0.2.10"), 21)
    assert statuses[20] == 429, statuses
    assert login(99, "192.0.2.11").status_code == 401


@pytest.mark.limit("TRUSTED_PROXIES → NUM_PROXIES")
def test_trusted_proxies_sets_drf_num_proxies():
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "TESTING": "1",
        "TRUSTED_PROXIES": "2",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
