"""Stored files leave through short-lived signed links only: nothing under /media/ without one."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from backend.core import media
from tests import factories
from tests.core.test_uploads import image_bytes, post_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("reports/feedback/2026/双报告.xlsx", ContentFile(b"PK personal data"))
    return name


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_a_signed_link_serves_the_file(client, stored):
    url = default_storage.url(stored)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK personal data"
    assert response["Cache-Control"] == "private, max-age=600"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.split("?")[0],  # no signature: the old open /media/
        lambda url: url.replace("s=", "s=x"),
        lambda url: url.replace("e=", "e=9"),  # a later expiry, signed for another
        lambda url: url.replace("feedback", "feedback/..").replace("2026/", ""),
    ],
    ids=["unsigned", "bad-signature", "other-expiry", "other-path"],
)
def test_without_a_valid_signature_it_is_404(client, stored, tamper):
    response = client.get(tamper(default_storage.url(stored)))
    assert response.status_code == 404


def test_a_link_expires(client, stored, monkeypatch):
    url = default_storage.url(stored)
    later = time.time() + media.LINK_SECONDS + media.LINK_STEP + 1
    monkeypatch.setattr(media.time, "time", lambda: later)
    assert client.get(url).status_code == 404


def test_links_are_stable_for_a_while_and_last_an_hour(stored):
    now = 1_800_000_000.0
    first = media.signed_query(stored, now=now)
    assert media.signed_query(stored, now=now + 1) == first
    expires = int(first.split("e=")[1].split("&")[0])
    assert now + media.LINK_SECONDS < expires <= now + media.LINK_SECONDS + media.LINK_STEP


def test_a_path_out_of_media_root_is_404_even_signed(client, stored):
    name = "../settings.py"
    assert client.get(f"/media/{name}?{media.signed_query(name)}").status_code == 404


def test_behind_nginx_the_file_is_left_to_nginx(client, stored, settings):
    settings.MEDIA_ACCEL_REDIRECT = True
    response = client.get(default_storage.url(stored))
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == media.ACCEL_PREFIX + "reports/feedback/2026/%E5%8F%8C%E6%8A%A5%E5%91%8A.xlsx"


def test_an_upload_answers_with_signed_links_that_work(settings, tmp_path, as_user):
    settings.MEDIA_ROOT = tmp_path
    user = factories.UserFactory()
    client = as_user(user)
    body = post_file(client, "photo.png", image_bytes("PNG"), "image/png").json()
    for url in (body["url"], body["thumbnail_url"]):
        assert "?e=" in url and "&s=" in url
        assert client.get(path_of(url)).status_code == 200
        assert client.get(path_of(url).split("?")[0]).status_code == 404
