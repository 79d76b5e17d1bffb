"""Helpers for content-check tests (backend/core/moderation.py) shared by the apps' tests."""

from __future__ import annotations

import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from backend.core import moderation
from backend.core.models import ContentCheck, Upload
from devtools.fake_wechat import FakeWeChat

PUSH = "/api/v1/wechat/push/"


def with_openid(user, name: str | None = None):
    """Give a user the openid WeChat knows them by (as a mini-program login would)."""
    user.wechat_openid = FakeWeChat.openid_for(name or f"user-{user.pk}")
    user.save(update_fields=["wechat_openid"])
    return user


def closed_port() -> int:
    """A loopback port nothing listens on: WeChat 'down' answers at once with a refused connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def take_wechat_down(django_settings) -> str:
    """Point the client at nothing; returns the working base URL to put back."""
    working = settings.WECHAT_API_BASE
    django_settings.WECHAT_API_BASE = f"http://127.0.0.1:{closed_port()}"
    return working


def image(owner, name: str = "photo.jpg") -> Upload:
    """An image row whose stored name carries the fake's markers (违规词, 待复核, 检测失败) when asked."""
    return Upload.objects.create(
        owner=owner,
        kind=Upload.Kind.IMAGE,
        file=f"uploads/2026/05/{name}",
        content_type="image/jpeg",
        size=2048,
        width=640,
        height=480,
        sha256=(name.encode().hex() + "0" * 64)[:64],
        original_name=name,
    )


def checks_of(obj) -> list[ContentCheck]:
    return list(ContentCheck.objects.filter(target=moderation.target_of(obj), object_id=obj.pk).order_by("id"))


def push_all(client, fake: FakeWeChat) -> list[int]:
    """Deliver every verdict the fake holds through the test client, as WeChat would post them."""
    statuses = []
    for query, body in fake.take_pushes():
        response = client.post(f"{PUSH}?{_encode(query)}", data=body, content_type="application/json")
        statuses.append(response.status_code)
    return statuses


def _encode(query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(query)


def run_retries(*, after: timedelta = timedelta(days=2)) -> int:
    """The retry job, as the scheduler would run it once `after` has passed."""
    return moderation.run_due_checks(now=timezone.now() + after)
