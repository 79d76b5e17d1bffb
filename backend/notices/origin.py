"""Refuse WebSocket handshakes from a browser page served by a host we do not serve.

A browser always sends `Origin` on a WebSocket handshake, so a foreign page is caught here before
any token is looked at (cross-site WebSocket hijacking). The mini-program's native socket may send
no `Origin` at all; that is not a browser page, so it goes on to token authentication. Channels'
own OriginValidator refuses a missing `Origin`, which would lock the mini-program out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host


def allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        # What Django itself accepts for the Host header in this case.
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_allowed(origin: str) -> bool:
    """Whether a present `Origin` header names a host in ALLOWED_HOSTS (`null` and junk do not)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    domain, _port = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, allowed_hosts())


class OriginValidator:
    """ASGI middleware: a WebSocket whose `Origin` is present and not allowed is closed before accept."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            origin = next((value for key, value in scope.get("headers") or () if key.lower() == b"origin"), None)
            if origin is not None and not origin_allowed(origin.decode("latin1")):
                return await self.refuse(receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    async def refuse(receive: Any, send: Any) -> None:
        # The handshake arrives as websocket.connect; a close in reply makes the server answer 403.
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})
