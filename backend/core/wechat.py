"""A small client for the WeChat server APIs a mini-program backend needs (see WECHAT.md).

Every failure leaves as a `WeChatError` (a DomainError), so a view that lets it through answers in
the error format with the right status. The `session_key` from code2Session never leaves this
module's callers: it is kept out of reprs, and no answer of code2Session is ever logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import DomainError

logger = logging.getLogger(__name__)

# 40001 invalid / 42001 expired access token: refresh once and retry once.
TOKEN_REJECTED = frozenset({40001, 42001})

# Errcodes that mean something to our clients; any other errcode is "WeChat could not do it".
CODE_BY_ERRCODE: dict[int, str] = {
    40029: "invalid_code",
    40163: "invalid_code",
    45011: "wechat_rate_limited",
    40226: "wechat_user_blocked",
}

# Keep a token a little less long than WeChat says, so a token is never used in its last minutes.
TOKEN_EXPIRY_MARGIN = 300


def _detail_for(code: str) -> str:
    return {
        "invalid_code": _("微信凭证无效或已使用，请重新获取"),
        "wechat_rate_limited": _("微信接口调用过于频繁，请稍后再试"),
        "wechat_user_blocked": _("该微信账号被微信判定为高风险，暂时无法登录"),
    }.get(code, _("微信服务暂时不可用，请稍后再试"))


class WeChatError(DomainError):
    """A call to WeChat failed. `errcode` is WeChat's own code (None: no usable answer at all)."""

    def __init__(self, code: str = "wechat_unavailable", detail: Any = None, *, errcode: int | None = None) -> None:
        self.errcode = errcode
        super().__init__(code, detail if detail is not None else _detail_for(code))

    @classmethod
    def from_errcode(cls, errcode: int) -> WeChatError:
        return cls(CODE_BY_ERRCODE.get(errcode, "wechat_unavailable"), errcode=errcode)


@dataclass(frozen=True)
class Session:
    openid: str
    unionid: str | None
    # Never shown: a repr of the session (in a traceback, a debug log) must not carry it.
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str
    pure_phone_number: str
    country_code: str
    watermark_appid: str
    watermark_timestamp: int | None


@dataclass(frozen=True)
class SecurityVerdict:
    suggest: str  # "pass" | "review" | "risky"
    label: int | None
    trace_id: str | None


class _RedactSecrets(logging.Filter):
    """httpx logs every URL at INFO, and WeChat wants the secret, the login code and the access
    token in query strings: blank them before any handler sees the line."""

    _pattern = re.compile(r"((?:secret|js_code|access_token)=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        redacted = self._pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactSecrets) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactSecrets())


# One httpx client per process: making one costs ~0.1 s (it loads the CA bundle), and keeping it
# reuses the TLS connection to WeChat. Keyed by pid too, so a forked worker never shares sockets.
_shared_http: tuple[tuple, httpx.Client] | None = None
_shared_http_lock = threading.Lock()


def _http_client(base_url: str, timeout: float) -> httpx.Client:
    global _shared_http
    key = (os.getpid(), base_url, timeout)
    with _shared_http_lock:
        if _shared_http is None or _shared_http[0] != key:
            # The previous client (other settings, or the parent's) is dropped, not closed: another
            # thread may still be using it, and its sockets close when it is collected.
            _shared_http = (key, httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False))
        return _shared_http[1]


def _require_str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise WeChatError(errcode=None)
    return value


class WeChatClient:
    """`WeChatClient().code2session(code)`: cheap to make, the HTTP connections are shared.

    Settings are read when the client is made, so tests may point WECHAT_API_BASE elsewhere.
    """

    def __init__(
        self,
        *,
        appid: str | None = None,
        secret: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.appid = appid if appid is not None else settings.WECHAT_APPID
        self.secret = secret if secret is not None else settings.WECHAT_SECRET
        self.base_url = (base_url if base_url is not None else settings.WECHAT_API_BASE).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.WECHAT_TIMEOUT

    # Usable as `with WeChatClient() as wx:`; nothing to release, the connections are per process.
    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    @property
    def token_cache_key(self) -> str:
        return f"wechat:access_token:{self.appid}"

    # --- transport -------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: dict | None = None, payload: dict | None = None) -> dict:
        """One call; returns the answer when its errcode is 0, raises WeChatError otherwise."""
        if not self.appid or not self.secret:
            logger.error("WECHAT_APPID / WECHAT_SECRET are not set; cannot call %s", path)
            raise WeChatError(errcode=None)
        # Serialised here rather than by httpx: WeChat wants UTF-8 text, not \u escapes, whatever
        # the installed httpx does by default.
        content = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
        try:
            response = _http_client(self.base_url, self.timeout).request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException:
            logger.warning("wechat %s timed out after %ss", path, self.timeout)
            raise WeChatError(errcode=None) from None
        except httpx.HTTPError as exc:
            logger.warning("wechat %s unreachable: %s", path, type(exc).__name__)
            raise WeChatError(errcode=None) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            logger.warning("wechat %s answered HTTP %s without a JSON object", path, response.status_code)
            raise WeChatError(errcode=None)
        errcode = data.get("errcode", 0)
        if not isinstance(errcode, int):
            logger.warning("wechat %s answered a non-integer errcode", path)
            raise WeChatError(errcode=None)
        if errcode != 0:
            # errmsg carries WeChat's request id (rid), which is what their support asks for.
            logger.warning("wechat %s failed: errcode=%s errmsg=%s", path, errcode, str(data.get("errmsg", ""))[:200])
            raise WeChatError.from_errcode(errcode)
        if response.status_code != 200:
            logger.warning("wechat %s answered HTTP %s", path, response.status_code)
            raise WeChatError(errcode=None)
        return data

    def _with_token(self, path: str, payload: dict) -> dict:
        token = self.get_access_token()
        try:
            return self._request("POST", path, params={"access_token": token}, payload=payload)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_REJECTED:
                raise
            logger.info("wechat rejected the access token (errcode %s); refreshing once", exc.errcode)
        # Another process may already have replaced it; force_refresh is limited (about 20 a day).
        fresh = cache.get(self.token_cache_key)
        if not fresh or fresh == token:
            fresh = self.get_access_token(force_refresh=True)
        return self._request("POST", path, params={"access_token": fresh}, payload=payload)

    # --- the APIs --------------------------------------------------------------------------

    def code2session(self, code: str) -> Session:
        data = self._request(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self.appid,
                "secret": self.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        unionid = data.get("unionid")
        return Session(
            openid=_require_str(data, "openid"),
            unionid=unionid if isinstance(unionid, str) and unionid else None,
            session_key=_require_str(data, "session_key"),
        )

    def get_access_token(self, *, force_refresh: bool = False) -> str:
        """The stable token, shared by every process through the default cache.

        In normal mode WeChat hands every caller the same unexpired token, so two processes
        missing the cache at once do not invalidate each other.
        """
        if not force_refresh:
            cached = cache.get(self.token_cache_key)
            if cached:
                return cached
        data = self._request(
            "POST",
            "/cgi-bin/stable_token",
            payload={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force_refresh,
            },
        )
        token = _require_str(data, "access_token")
        expires_in = data.get("expires_in")
        if not isinstance(expires_in, int) or expires_in <= 0:
            raise WeChatError(errcode=None)
        ttl = max(expires_in - TOKEN_EXPIRY_MARGIN, expires_in // 2)
        if ttl > 0:
            cache.set(self.token_cache_key, token, timeout=ttl)
        return token

    def get_phone_number(self, code: str) -> PhoneInfo:
        data = self._with_token("/wxa/business/getuserphonenumber", {"code": code})
        info = data.get("phone_info")
        if not isinstance(info, dict) or not isinstance(info.get("watermark"), dict):
            raise WeChatError(errcode=None)
        watermark = info["watermark"]
        timestamp = watermark.get("timestamp")
        return PhoneInfo(
            phone_number=_require_str(info, "phoneNumber"),
            pure_phone_number=_require_str(info, "purePhoneNumber"),
            country_code=str(info.get("countryCode") or ""),
            watermark_appid=_require_str(watermark, "appid"),
            watermark_timestamp=timestamp if isinstance(timestamp, int) else None,
        )

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        page: str | None = None,
        *,
        miniprogram_state: str | None = None,
        lang: str = "zh_CN",
    ) -> dict:
        """Send one subscribe message. `data` values may be plain text or already `{"value": …}`.

        Errors carry WeChat's errcode: 43101 (no consent left), 47003 (bad data), 40003 (bad
        openid), 40037 (bad template), 41030 (bad page) all leave as WeChatError.
        """
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: value if isinstance(value, dict) else {"value": value} for key, value in data.items()},
            "lang": lang,
        }
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        return self._with_token("/cgi-bin/message/subscribe/send", body)

    def msg_sec_check(self, openid: str, content: str, scene: int) -> SecurityVerdict:
        data = self._with_token(
            "/wxa/msg_sec_check",
            {"version": 2, "openid": openid, "scene": scene, "content": content},
        )
        result = data.get("result")
        if not isinstance(result, dict) or result.get("suggest") not in ("pass", "review", "risky"):
            raise WeChatError(errcode=None)
        label = result.get("label")
        trace_id = data.get("trace_id")
        return SecurityVerdict(
            suggest=result["suggest"],
            label=label if isinstance(label, int) else None,
            trace_id=trace_id if isinstance(trace_id, str) else None,
        )

    def media_check_async(self, openid: str, media_url: str, scene: int, *, media_type: int = 2) -> str:
        """Send an image (media_type 2; 1 is audio) for checking; returns the trace_id its verdict
        will carry when WeChat pushes it (a `wxa_media_check` event, within about 30 minutes)."""
        data = self._with_token(
            "/wxa/media_check_async",
            {"media_url": media_url, "media_type": media_type, "version": 2, "openid": openid, "scene": scene},
        )
        # The HTTPS API answers trace_id; some answers have been seen spelled traceId.
        trace_id = data.get("trace_id") or data.get("traceId")
        if not isinstance(trace_id, str) or not trace_id:
            raise WeChatError(errcode=None)
        return trace_id
