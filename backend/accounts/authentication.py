"""JWT authentication for every API request: the token verified once per process, the account read
with one statement compiled once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

from backend.core.statements import ModelRead

from .models import User

# Verified access tokens kept per process. A mini-program sends the same token with every request
# for its lifetime (30 minutes), so most requests find theirs here; the bound keeps a process's
# memory flat whatever the number of users (a token and its claims are well under 1 KiB).
VERIFIED_TOKENS_MAX = 20_000


class VerifiedTokens:
    """Access tokens whose signature this process has verified, with their claims.

    A token's signature, type and identity are facts about its bytes and the signing key: once
    verified they stay verified, so only its expiry is checked again on each use. Access tokens are
    never blacklisted (only refresh tokens are), so nothing else can turn one invalid before it
    expires. The table is emptied when full rather than kept in least-recently-used order: a lock
    and bookkeeping on every request would cost more than verifying the few tokens that follow.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._claims: dict[bytes, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, raw: bytes) -> Token | None:
        claims = self._claims.get(raw)
        if claims is None:
            return None
        leeway = token_backend.get_leeway().total_seconds()
        if claims["exp"] <= time.time() - leeway:
            return None  # expired: verified again, which refuses it as simplejwt does
        token = AccessToken.__new__(AccessToken)
        token.token = raw  # type: ignore[assignment]  # simplejwt's stubs say Token; it holds the raw bytes
        token.current_time = aware_utcnow()
        token.payload = dict(claims)
        return token

    def put(self, raw: bytes, token: Token) -> None:
        if type(token) is not AccessToken or not isinstance(token.payload.get("exp"), (int, float)):
            return
        with self._lock:
            if len(self._claims) >= self.size:
                self._claims.clear()
            self._claims[raw] = dict(token.payload)

    def clear(self) -> None:
        with self._lock:
            self._claims.clear()


verified_tokens = VerifiedTokens(VERIFIED_TOKENS_MAX)


def _account_sql(columns: str, quote: Callable[[str], str]) -> str:
    return f"SELECT {columns} FROM {quote(User._meta.db_table)} WHERE {quote(str(User._meta.pk.column))} = %s"  # noqa: S608


# `SELECT <every column> FROM accounts_user WHERE id = %s`, written once per process: the ORM
# compiled `User.objects.get(pk=…)` again on every request, which cost more than any other part of
# a signed-in read's floor (docs/benchmarks.md). tests/accounts/test_authentication.py compares the
# two, field by field.
account_statement = ModelRead(User, _account_sql)


def _user_id(validated_token: Any) -> int:
    try:
        return int(validated_token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken(str(_("Token contained no recognizable user identification"))) from exc


def _plain_lookup() -> bool:
    """Whether a token names its user by primary key with nothing else to compare (the settings'
    case); otherwise simplejwt's own path reads the user."""
    return not api_settings.CHECK_REVOKE_TOKEN and User._meta.pk.attname == api_settings.USER_ID_FIELD


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's authentication, with the same answers, at a fraction of its cost per request:
    the token's signature is verified once per process (`VerifiedTokens`) and the account read with
    a statement written once (`_AccountStatement`)."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = verified_tokens.get(raw_token)
        if token is not None:
            return token
        token = super().get_validated_token(raw_token)
        verified_tokens.put(raw_token, token)
        return token

    # simplejwt annotates the answer with a TypeVar nothing binds; the user model is what comes back.
    def get_user(self, validated_token: Any) -> AbstractBaseUser:  # type: ignore[override]
        if not _plain_lookup():
            return super().get_user(validated_token)
        user = account_statement.first([_user_id(validated_token)])
        if user is None:
            raise AuthenticationFailed(str(_("User not found")), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(str(_("User is inactive")), code="user_inactive")
        return user


class JWTScheme(SimpleJWTScheme):
    """In the schema: `jwtAuth`, as simplejwt's own class is named there."""

    target_class = "backend.accounts.authentication.JWTAuthentication"


class DeferredUserJWTAuthentication(JWTAuthentication):
    """The token is verified as always (signature, expiry, type), but the user is not read: the
    request gets a `User` holding only its id, each other field read on first use.

    For a view whose one query can tell whether the account is still active along with everything
    else it reads: check-in, where the user's row was a quarter of the request; the inbox's page
    and unread count; the volunteer's profile and the leaderboard. Such a view must call
    `require_active(...)` with that answer before acting; simplejwt's own check (user found,
    active) is otherwise skipped. Such a view mixes in RefusesAsAuthentication, which reads the
    account when a throttle refuses (401 before 429) and renders a refusal for an anonymous caller.
    """

    # simplejwt annotates the answer with a TypeVar nothing binds; the user model is what comes back.
    def get_user(self, validated_token: Any) -> AbstractBaseUser:  # type: ignore[override]
        if not _plain_lookup():
            # The revocation check compares the token with the stored password, and a user found
            # by another field needs the row: read it as always.
            return authentication.JWTAuthentication.get_user(self, validated_token)
        return User.from_db(DEFAULT_DB_ALIAS, [User._meta.pk.attname], [_user_id(validated_token)])


def _is_deferred(user: Any) -> bool:
    """Whether the request's user is DeferredUserJWTAuthentication's: an account not read yet."""
    get_deferred_fields = getattr(user, "get_deferred_fields", None)
    return get_deferred_fields is not None and bool(get_deferred_fields())


# A view mixin for reads that leave the account to their own statement (this one and
# volunteers.views.OwnReadMixin): they answer a gone or inactive account as authentication does.
# - The refusal is rendered for an anonymous caller, as when an authenticator refuses: the account
#   was never read, and the browsable page (its user menu, a form's choices) would read it then,
#   which for a deleted account failed (500).
# - A throttle's refusal of a deferred account reads the account first: a gone or inactive one is
#   told 401, as authentication (which runs before the throttles) would tell it, not 429. Only a
#   refused request pays that read.
class RefusesAsAuthentication:
    request: Any

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, exceptions.AuthenticationFailed):
            self.request.user, self.request.auth = AnonymousUser(), None
        return super().handle_exception(exc)  # type: ignore[misc]  # a mixin: the view has it

    def throttled(self, request: Any, wait: float) -> NoReturn:
        if _is_deferred(request.user):
            read_deferred_account(request)
        super().throttled(request, wait)  # type: ignore[misc]  # a mixin: the view has it
        raise AssertionError("throttled() always raises")  # for the type checker: APIView's raises


# A viewset mixin: its actions in `account_in_statement` authenticate JWT requests with
# `DeferredUserJWTAuthentication`, and each reads the account's state with its own statement and
# calls `require_active` with it. Other authenticators (the console's session) stay as they are; the
# schema keeps naming the view's own classes, since the token a client sends is the same. A comment,
# not a docstring: the schema would take a docstring as the description of every view mixing it in.
class AccountInStatement(RefusesAsAuthentication):
    account_in_statement: frozenset[str] = frozenset()

    def reads_account_in_statement(self, request: Any) -> bool:
        return getattr(self, "action", None) in self.account_in_statement

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        request = super().initialize_request(request, *args, **kwargs)  # type: ignore[misc]  # a mixin: the view has it
        # The action is known only now; no authenticator has run yet.
        if self.reads_account_in_statement(request):
            request.authenticators = [
                DeferredUserJWTAuthentication() if type(authenticator) is JWTAuthentication else authenticator
                for authenticator in request.authenticators
            ]
        return request


def read_deferred_account(request: Any) -> None:
    """The whole account for a request DeferredUserJWTAuthentication let in, as JWTAuthentication
    would have read it: 401 when it is gone or inactive."""
    account = account_statement.first([request.user.pk])
    require_active(None if account is None else account.is_active)
    request.user = account


def require_active(is_active: bool | None) -> None:
    """401 as JWTAuthentication answers it: None, the account is gone; False, it is inactive."""
    if is_active is None:
        raise AuthenticationFailed(str(_("User not found")), code="user_not_found")
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
