"""JWT authentication that leaves reading the account to the view's own query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from .models import User


class DeferredUserJWTAuthentication(JWTAuthentication):
    """The token is verified as always (signature, expiry, type), but the user is not read: the
    request gets a `User` holding only its id, each other field read on first use.

    For a view whose one query can tell whether the account is still active along with everything
    else it reads — check-in, where the user's row was a quarter of the request. Such a view must
    call `require_active(...)` with that answer before acting; simplejwt's own check (user found,
    active) is otherwise skipped.
    """

    # simplejwt annotates the answer with a TypeVar nothing binds; the user model is what comes back.
    def get_user(self, validated_token: Any) -> AbstractBaseUser:  # type: ignore[override]
        if api_settings.CHECK_REVOKE_TOKEN or User._meta.pk.attname != api_settings.USER_ID_FIELD:
            # The revocation check compares the token with the stored password, and a user found
            # by another field needs the row: read it as always.
            return super().get_user(validated_token)
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(str(_("Token contained no recognizable user identification"))) from exc
        return User.from_db(DEFAULT_DB_ALIAS, [User._meta.pk.attname], [user_id])


def require_active(is_active: bool | None) -> None:
    """401 as simplejwt answers it, for an account that is gone or inactive."""
    if not is_active:
        raise AuthenticationFailed(str(_("User is inactive")), code="user_inactive")


class DeferredUserJWTScheme(SimpleJWTScheme):
    """In the schema: the same bearer access token as `jwtAuth`, under a name of its own because
    the schema names each authentication class once (check-in and check-out list it)."""

    target_class = "backend.accounts.authentication.DeferredUserJWTAuthentication"
    name = "jwtAuthCheckIn"


class SingleUseRefreshToken(RefreshToken):
    """A refresh token that rotates once. simplejwt checks the blacklist, then blacklists with
    get_or_create: parallel refreshes with one token all passed the check, all "blacklisted" it,
    and each got a new usable token. Here the blacklist row is inserted, never fetched, and its
    uniqueness (one per outstanding token) lets exactly one refresh through."""

    def blacklist(self) -> BlacklistedToken:
        try:
            with transaction.atomic():
                # outstand() answers get_or_create's (row, created); its annotation says a row or None.
                outstanding, _created = self.outstand()  # type: ignore[misc]
                return BlacklistedToken.objects.create(token=outstanding)
        except IntegrityError:
            raise TokenError(_("Token is blacklisted")) from None


class RefreshSerializer(TokenRefreshSerializer):
    token_class = SingleUseRefreshToken
