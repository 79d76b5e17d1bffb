import hashlib
from collections.abc import Mapping

from django.utils.translation import gettext as _
from rest_framework import throttling
from rest_framework.exceptions import ValidationError


class StringInputsBeforeThrottles:
    """A view mixin: the inputs its throttles count by (`string_inputs`) must be strings, checked
    before any throttle runs. A JSON number for `phone` or `code` had no throttle key (the
    throttles count strings only) yet was accepted by the serializer as its digits."""

    string_inputs: tuple[str, ...] = ()

    def check_throttles(self, request):
        data = request.data if isinstance(request.data, Mapping) else {}
        wrong = {
            name: [_("必须是字符串")] for name in self.string_inputs if name in data and not isinstance(data[name], str)
        }
        if wrong:
            raise ValidationError(wrong)
        super().check_throttles(request)


def _key(value: str) -> str:
    """The throttle key of an input, normalised as its serializer reads it (surrounding spaces trimmed)."""
    return hashlib.sha256(value.strip().encode()).hexdigest()[:32]


class UserThrottle(throttling.UserRateThrottle):
    """Signed-in users only: anonymous requests are counted once, by AnonThrottle."""

    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class AnonThrottle(throttling.AnonRateThrottle):
    scope = "anon"


class WeChatCodeThrottle(throttling.SimpleRateThrottle):
    """Per login code: a code is single-use, so hammering one code is a client bug or an attack."""

    scope = "wechat_code"

    def get_cache_key(self, request, view):
        # A body that is not an object (a JSON array) has no code to count; the view refuses it.
        data = request.data if isinstance(request.data, Mapping) else {}
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _key(code)}


class WeChatAddressThrottle(throttling.SimpleRateThrottle):
    """Per client address, and generous: a venue's whole crowd may share one Wi-Fi address."""

    scope = "wechat_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAddressThrottle(throttling.SimpleRateThrottle):
    """Password logins per client address (behind the configured proxies only: NUM_PROXIES)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginPhoneThrottle(throttling.SimpleRateThrottle):
    """Password logins per account phone, wherever they come from: guessing one account's password
    from many addresses is slowed as much as from one."""

    scope = "login_phone"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, Mapping) else {}
        phone = data.get("phone")
        if not isinstance(phone, str) or not phone.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _key(phone)}
