"""Shared fixtures: API clients signed in as each role, the map, and the fake WeChat server."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.core.throttling import leases as throttle_leases
from tests import factories


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fresh key prefix per test instead of cache.clear(): on Redis clear() is FLUSHDB, which
    # would also wipe the channel layer and any other run sharing the server.
    caches_conf = copy.deepcopy(settings.CACHES)
    caches_conf["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches_conf
    # The throttles' leases are kept per process beside the cache: a new cache, no leases.
    throttle_leases.clear()
    yield


class CapturedEvents(list):
    """Events delivered after commit, as (event, data, audience), data as a client receives it.

    Each payload goes through JSON as the realtime sink sends it (DjangoJSONEncoder, then parsed):
    a value the socket could not carry fails the test where it is emitted, and what a test reads
    is what the mini-program reads (a Decimal arrives as text).

    `with captured_events(expected=N):` runs the block's on-commit callbacks (a test's transaction
    never commits) and asserts that exactly N events left it. Outside such a block it is the list
    of everything delivered so far; wrap the call in `django_capture_on_commit_callbacks(execute=True)`.
    """

    def __init__(self, capture_on_commit: Any) -> None:
        super().__init__()
        self._capture_on_commit = capture_on_commit

    def sink(self, *, event: str, data: dict[str, Any], audience: Any) -> None:
        self.append((event, json.loads(json.dumps(data, cls=DjangoJSONEncoder)), audience))

    def names(self) -> list[str]:
        return [event for event, _data, _audience in self]

    @contextmanager
    def __call__(self, *, expected: int) -> Iterator[CapturedEvents]:
        before = len(self)
        with self._capture_on_commit(execute=True):
            yield self
        came = self.names()[before:]
        assert len(came) == expected, f"expected {expected} event(s), got {len(came)}: {came}"


@pytest.fixture
def captured_events(django_capture_on_commit_callbacks):
    from backend.core.events import event_sinks

    captured = CapturedEvents(django_capture_on_commit_callbacks)
    event_sinks.register("tests.captured", captured.sink)
    yield captured
    event_sinks.unregister("tests.captured")


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def as_user():
    """`as_user(user)` → an APIClient sending that user's access token."""
    return client_for


@pytest.fixture
def street(db):
    return factories.StreetFactory()


@pytest.fixture
def community(street):
    return factories.CommunityFactory(street=street)


@pytest.fixture
def other_community(street):
    return factories.CommunityFactory(street=street)


@pytest.fixture
def resident(db):
    return factories.UserFactory()


@pytest.fixture
def fake_wechat(settings):
    """A running fake WeChat API (devtools/fake_wechat.py) that the settings point at."""
    from devtools.fake_wechat import FakeWeChat

    with FakeWeChat() as server:
        settings.WECHAT_API_BASE = server.base_url
        settings.WECHAT_APPID = server.appid
        settings.WECHAT_SECRET = server.secret
        yield server


@pytest.fixture
def content_checks(settings, fake_wechat):
    """Content checks on (the test settings leave them off), against the fake WeChat server.

    Media URLs are built under https://testserver/media/ and pushes are signed with the fake's token.
    """
    settings.CONTENT_CHECKS = True
    settings.MEDIA_PUBLIC_URL = "https://testserver/media/"
    settings.WECHAT_PUSH_TOKEN = fake_wechat.push_token
    return fake_wechat
