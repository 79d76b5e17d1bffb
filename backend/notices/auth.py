"""JWT authentication for WebSocket connections (the same access tokens as the REST API).

The token comes from the `Authorization: Bearer …` header (what `wx.connectSocket` sends) or, for
browsers, which cannot set headers on a socket, from `?token=`. A missing or bad token does not
refuse the handshake here: the scope gets an `AnonymousUser` and the consumer accepts, then closes
with 4401, because a refused handshake reaches `wx.connectSocket` as a bare error with no code.

The token is a credential: nothing here logs it, the query string included. Daphne's access log
writes the path without the query string.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings

from backend.accounts.authentication import JWTAuthentication

logger = logging.getLogger(__name__)

# A JWT is a few hundred bytes; anything far larger is not one and is not worth decoding.
MAX_TOKEN_LENGTH = 4096


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin1")
    return None


def token_from_scope(scope: dict[str, Any]) -> str | None:
    """The raw access token from the Authorization header, else from `?token=`; None if absent."""
    authorization = _header(scope, b"authorization")
    if authorization:
        parts = authorization.split()
        header_types = {t.lower() for t in api_settings.AUTH_HEADER_TYPES}
        if len(parts) == 2 and parts[0].lower() in header_types:
            return parts[1]
        return None
    query = (scope.get("query_string") or b"").decode("latin1")
    values = parse_qs(query).get("token")
    return values[0] if values else None


@database_sync_to_async
def authenticate(raw_token: str | None) -> tuple[Any, int | None]:
    """(user, expiry as a Unix timestamp) for a valid access token, else (AnonymousUser, None)."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        return AnonymousUser(), None
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw_token.encode("latin1"))
        user = authentication.get_user(validated)
    except (InvalidToken, TokenError, AuthenticationFailed, UnicodeEncodeError) as exc:
        # The reason only, never the token.
        logger.info("websocket token refused: %s", getattr(exc, "default_code", type(exc).__name__))
        return AnonymousUser(), None
    return user, int(validated["exp"])


class JWTAuthMiddleware:
    """Sets `scope["user"]` (AnonymousUser when the token is missing or bad) and `scope["token_exp"]`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        user, token_exp = await authenticate(token_from_scope(scope))
        scope = {**scope, "user": user, "token_exp": token_exp}
        return await self.app(scope, receive, send)
