"""A fake WeChat API server for tests and local trials: real HTTP, WeChat's answers, errors included.

In tests: `with FakeWeChat() as wx: settings.WECHAT_API_BASE = wx.base_url` (the `fake_wechat`
fixture does this). By hand: `python -m devtools.fake_wechat --port 9800` (or `manage.py fake_wechat`;
`make run` starts it). This package is for development only: it is not
installed with `backend` nor copied into the image. The appid, secret and push token default to the
settings' (WECHAT_APPID, WECHAT_SECRET, WECHAT_PUSH_TOKEN, which have development values when DEBUG
or TESTING is on). docs/wechat.md lists which code gets which answer; in short:

- login codes are free-form; the part before the first ":" names the person ("alice" and
  "alice:2" are the same WeChat user logging in twice), a code is single-use (40163 the second
  time), "err-<errcode>" answers that errcode, "slow" answers after the client gave up, "garbage"
  answers something that is not JSON;
- phone codes are "phone-<number>" (watermark with our appid) or "phone-wrongapp-<number>"
  (another mini-program's watermark), single-use too; "err-<errcode>" as above;
- subscribe messages: a `touser` or `template_id` of "err-<errcode>" answers that errcode, and the
  data is checked against WeChat's length limits per key type (47003);
- msg_sec_check: content containing RISKY_MARKER is "risky", REVIEW_MARKER is "review";
- media_check_async: answers a trace_id at once; the verdict (by the same markers in the media
  URL, FAILED_MEDIA_MARKER for a check WeChat could not make) is pushed later as a signed
  `wxa_media_check` event to `push_url`: after `push_delay` seconds, or when a test calls
  `deliver_pushes()` (or takes them with `take_pushes()` to send them itself);
- `delay_seconds` (`--delay`) makes every call slow: each waits that long before WeChat "sees" it,
  and one whose client gave up meanwhile is dropped unanswered, as a congested link would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

OTHER_APPID = "wx-some-other-app"
RISKY_MARKER = "违规词"
REVIEW_MARKER = "待复核"
FAILED_MEDIA_MARKER = "检测失败"
TOKEN_LIFETIME = 7200

_ERR_RE = re.compile(r"^err-(-?\d+)$")
_PHONE_RE = re.compile(r"^phone-(wrongapp-)?(\d{5,15})$")

# WeChat's limits on subscribe-message values, by the key's type (the key minus its number).
_VALUE_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "character_string": 32,
    "symbol": 5,
    "phrase": 5,
    "name": 20,
    "phone_number": 17,
    "car_number": 8,
    "time": 64,
    "date": 64,
    "amount": 32,
}


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


def _errcode_in(value: Any) -> int | None:
    match = _ERR_RE.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def _error(errcode: int, errmsg: str | None = None) -> dict:
    return {"errcode": errcode, "errmsg": f"{errmsg or 'error'} rid: {secrets.token_hex(6)}"}


def _from_settings(name: str) -> str:
    # One source for the development credentials: the settings (their DEBUG/TESTING defaults).
    from django.conf import settings

    value = getattr(settings, name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is empty: set it, or run with DEBUG=1, to start the fake WeChat server.")
    return value


class FakeWeChat:
    """The fake server. Use as a context manager (a thread serves it) or call `serve_forever()`."""

    def __init__(
        self,
        *,
        appid: str | None = None,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        slow_seconds: float = 30.0,
        delay_seconds: float = 0.0,
        give_unionid: bool = True,
        push_url: str | None = None,
        push_token: str | None = None,
        push_delay: float | None = None,
    ) -> None:
        self.appid = appid or _from_settings("WECHAT_APPID")
        self.secret = secret or _from_settings("WECHAT_SECRET")
        self.slow_seconds = slow_seconds
        # Every call waits this long before it is acted on (0: none); may be changed while serving.
        self.delay_seconds = delay_seconds
        self.give_unionid = give_unionid
        # When set (e.g. threading.Barrier(2)), code2Session answers wait on it: tests use it to
        # let concurrent first logins reach the database together.
        self.login_gate: threading.Barrier | None = None
        # When set to an errcode, every access token is refused with it (the retry gives up too).
        self.reject_all_tokens: int | None = None
        # Called with each request before it is answered: lets a test act as another process would
        # while a call is under way.
        self.on_request: Callable[[Received], None] | None = None
        self.requests: list[Received] = []
        self.sent_messages: list[dict] = []
        # Every session_key handed out, so tests can look for it where it must never appear.
        self.issued_session_keys: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._used_codes: set[str] = set()
        self._token_status: dict[str, int] = {}  # token → 0 valid, else the errcode it now gets
        self._current_token: str | None = None
        self._current_token_minted = 0.0
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None
        # Our message endpoint, and the token the mini-program console would share with it.
        self.push_url = push_url
        self.push_token = push_token or _from_settings("WECHAT_PUSH_TOKEN")
        # None: verdicts wait for deliver_pushes() / take_pushes(); else sent after that many seconds.
        self.push_delay = push_delay
        self.media_checks: list[dict] = []
        self._pending_pushes: list[dict] = []

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWeChat:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._stopping.set()
            self._server.server_close()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeWeChat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what tests look at and steer ---------------------------------------------------------

    @staticmethod
    def person_of(code: str) -> str:
        return code.split(":", 1)[0]

    @classmethod
    def openid_for(cls, code: str) -> str:
        """The openid a login code yields: stable per person, shaped like WeChat's (28 characters)."""
        return "o" + hashlib.sha256(f"openid:{cls.person_of(code)}".encode()).hexdigest()[:27]

    @classmethod
    def unionid_for(cls, code: str) -> str:
        return "u" + hashlib.sha256(f"unionid:{cls.person_of(code)}".encode()).hexdigest()[:27]

    def calls_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def token_calls(self) -> list[Received]:
        return self.calls_to("/cgi-bin/stable_token")

    # --- pushes to our message endpoint (消息推送) ----------------------------------------------

    @staticmethod
    def sign(token: str, timestamp: str, nonce: str) -> str:
        """WeChat's push signature: SHA-1 of the token, timestamp and nonce, sorted and joined."""
        joined = "".join(sorted([token, timestamp, nonce])).encode()
        # SHA-1 is WeChat's choice, not ours; the secret is the token, not the hash.
        digest = hashlib.sha1(joined)  # noqa: S324  # nosec B324
        return digest.hexdigest()

    @classmethod
    def signed_query(cls, token: str, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        return {"signature": cls.sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    def take_pushes(self) -> list[tuple[dict[str, str], bytes]]:
        """The verdicts not pushed yet, each as (signed query, JSON body) WeChat would send; they
        count as delivered."""
        with self._lock:
            events, self._pending_pushes = self._pending_pushes, []
        return [
            (self.signed_query(self.push_token), json.dumps(event, ensure_ascii=False).encode()) for event in events
        ]

    def deliver_pushes(self) -> list[int]:
        """POST every pending verdict to `push_url` as WeChat does; the HTTP statuses it got."""
        if not self.push_url:
            raise RuntimeError("FakeWeChat.push_url is not set")
        statuses = []
        for query, body in self.take_pushes():
            separator = "&" if "?" in self.push_url else "?"
            request = urllib.request.Request(  # noqa: S310 - push_url is set by the test or the command
                f"{self.push_url}{separator}{urlencode(query)}",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                # push_url is our own server's, set by the test or the command (never from a request).
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
                    statuses.append(response.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
            except OSError as exc:
                logger.warning("fake wechat: push to %s failed: %s", self.push_url, exc)
                statuses.append(0)
        return statuses

    def _push_later(self) -> None:
        delay = self.push_delay
        if delay is None or not self.push_url:
            return
        timer = threading.Timer(delay, self.deliver_pushes)
        timer.daemon = True
        timer.start()

    def expire_tokens(self, errcode: int = 42001) -> None:
        """Every token issued so far now answers `errcode` (42001 expired, 40001 invalid)."""
        with self._lock:
            for token in self._token_status:
                self._token_status[token] = errcode
            self._current_token = None

    # --- the endpoints ------------------------------------------------------------------------

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _take_code(self, code: str) -> bool:
        """Mark a code used; False when it had been used already."""
        with self._lock:
            if code in self._used_codes:
                return False
            self._used_codes.add(code)
            return True

    def _check_token(self, query: dict[str, str]) -> dict | None:
        token = query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        if self.reject_all_tokens is not None:
            return _error(self.reject_all_tokens, "invalid credential")
        with self._lock:
            status = self._token_status.get(token)
        if status is None:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if status:
            return _error(status, "access_token expired" if status == 42001 else "invalid credential")
        return None

    def jscode2session(self, query: dict[str, str]) -> dict | None:
        if query.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        code = query.get("js_code", "")
        if self.login_gate is not None:
            self.login_gate.wait(timeout=5)
        if not code:
            return _error(41008, "missing code")
        if code == "slow":
            self._stopping.wait(self.slow_seconds)
            return {"errcode": -1, "errmsg": "system error"}
        if code == "garbage":
            return None
        errcode = _errcode_in(code)
        if errcode is not None:
            return _error(errcode)
        if not self._take_code(code):
            return _error(40163, "code been used")
        session_key = secrets.token_urlsafe(18)
        with self._lock:
            self.issued_session_keys.append(session_key)
        answer = {"openid": self.openid_for(code), "session_key": session_key}
        if self.give_unionid:
            answer["unionid"] = self.unionid_for(code)
        return answer

    def stable_token(self, body: Any) -> dict:
        if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if body.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if body.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        now = time.monotonic()
        with self._lock:
            current = self._current_token
            if body.get("force_refresh") or current is None or now - self._current_token_minted >= TOKEN_LIFETIME:
                if current is not None:
                    self._token_status[current] = 40001
                current = f"fake-token-{len(self._token_status) + 1}-{secrets.token_hex(64)}"
                self._token_status[current] = 0
                self._current_token = current
                self._current_token_minted = now
            remaining = TOKEN_LIFETIME - int(now - self._current_token_minted)
        return {"access_token": current, "expires_in": remaining}

    def getuserphonenumber(self, query: dict[str, str], body: Any) -> dict:
        refused = self._check_token(query)
        if refused:
            return refused
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            return _error(41008, "missing code")
        errcode = _errcode_in(code)
        if errcode is not None:
            return _error(errcode)
        match = _PHONE_RE.match(self.person_of(code))
        if not match or not self._take_code(code):
            return _error(40029, "invalid code")
        number = match.group(2)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": number,
                "purePhoneNumber": number,
                "countryCode": "86",
                "watermark": {"appid": OTHER_APPID if match.group(1) else self.appid, "timestamp": int(time.time())},
            },
        }

    def subscribe_send(self, query: dict[str, str], body: Any) -> dict:
        refused = self._check_token(query)
        if refused:
            return refused
        if not isinstance(body, dict):
            return _error(47001, "data format error")
        for key in ("touser", "template_id", "page"):
            errcode = _errcode_in(body.get(key))
            if errcode is not None:
                return _error(errcode)
        if not body.get("touser"):
            return _error(40003, "invalid openid")
        if not body.get("template_id"):
            return _error(40037, "invalid template_id")
        page = body.get("page")
        if page is not None and (not isinstance(page, str) or page.startswith("/")):
            return _error(41030, "invalid page")
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return _error(47003, "argument invalid! data is empty")
        for key, value in data.items():
            text = value.get("value") if isinstance(value, dict) else None
            limit = _VALUE_LIMITS.get(re.sub(r"\d+$", "", str(key)))
            if not isinstance(text, str) or limit is None or not text or len(text) > limit:
                return _error(47003, f"argument invalid! data.{key}.value invalid")
        with self._lock:
            self.sent_messages.append(body)
        return {"errcode": 0, "errmsg": "ok", "msgid": secrets.randbelow(10**12)}

    def msg_sec_check(self, query: dict[str, str], body: Any) -> dict:
        refused = self._check_token(query)
        if refused:
            return refused
        if not isinstance(body, dict) or body.get("version") != 2:
            return _error(47001, "data format error")
        errcode = _errcode_in(body.get("openid"))
        if errcode is not None:
            return _error(errcode)
        content = body.get("content")
        if not body.get("openid") or body.get("scene") not in (1, 2, 3, 4) or not isinstance(content, str):
            return _error(47001, "data format error")
        if len(content) > 2500:
            return _error(47001, "content too long")
        if RISKY_MARKER in content:
            suggest, label = "risky", 20001
        elif REVIEW_MARKER in content:
            suggest, label = "review", 21000
        else:
            suggest, label = "pass", 100
        return {
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}],
            "trace_id": secrets.token_hex(12),
        }

    def media_check_async(self, query: dict[str, str], body: Any) -> dict:
        refused = self._check_token(query)
        if refused:
            return refused
        if not isinstance(body, dict) or body.get("version") != 2:
            return _error(47001, "data format error")
        errcode = _errcode_in(body.get("openid"))
        if errcode is not None:
            return _error(errcode)
        url = body.get("media_url")
        if (
            not body.get("openid")
            or body.get("scene") not in (1, 2, 3, 4)
            or body.get("media_type") not in (1, 2)
            or not isinstance(url, str)
            or not url.startswith(("https://", "http://"))
        ):
            return _error(47001, "data format error")
        seen = unquote(url)
        if FAILED_MEDIA_MARKER in seen:
            suggest, label, result_errcode = "", None, -1
        elif RISKY_MARKER in seen:
            suggest, label, result_errcode = "risky", 20002, 0
        elif REVIEW_MARKER in seen:
            suggest, label, result_errcode = "review", 21000, 0
        else:
            suggest, label, result_errcode = "pass", 100, 0
        trace_id = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        event: dict[str, Any] = {
            "ToUserName": "gh_fake0000000",
            "FromUserName": body["openid"],
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "wxa_media_check",
            "appid": self.appid,
            "trace_id": trace_id,
            "version": 2,
            "errcode": result_errcode,
            "errmsg": "ok" if result_errcode == 0 else "system error",
        }
        if result_errcode == 0:
            # WeChat has been seen sending the label as text in pushes.
            event["result"] = {"suggest": suggest, "label": str(label)}
            event["detail"] = [
                {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}
            ]
        with self._lock:
            self.media_checks.append(
                {"trace_id": trace_id, "media_url": url, "openid": body["openid"], "suggest": suggest}
            )
            self._pending_pushes.append(event)
        self._push_later()
        return {"errcode": 0, "errmsg": "ok", "trace_id": trace_id}

    # --- HTTP -------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            routes = {
                ("GET", "/sns/jscode2session"): lambda q, b: fake.jscode2session(q),
                ("POST", "/cgi-bin/stable_token"): lambda q, b: fake.stable_token(b),
                ("POST", "/wxa/business/getuserphonenumber"): fake.getuserphonenumber,
                ("POST", "/cgi-bin/message/subscribe/send"): fake.subscribe_send,
                ("POST", "/wxa/msg_sec_check"): fake.msg_sec_check,
                ("POST", "/wxa/media_check_async"): fake.media_check_async,
            }

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                received = Received(method, url.path, query, body)
                fake._record(received)
                delay = fake.delay_seconds
                if delay > 0 and (fake._stopping.wait(delay) or self._client_gone()):
                    # WeChat never saw it: nothing is sent, no code is used up.
                    return
                if fake.on_request is not None:
                    fake.on_request(received)
                route = self.routes.get((method, url.path))
                if route is None:
                    other = "POST" if method == "GET" else "GET"
                    if (other, url.path) in self.routes:
                        answer: dict | None = _error(43002 if other == "POST" else 43001, f"require {other} method")
                    else:
                        self._send(404, b'{"errcode":40066,"errmsg":"invalid url"}', "application/json")
                        return
                elif isinstance(body, str):
                    answer = _error(47001, "data format error")
                else:
                    answer = route(query, body)
                if fake._stopping.is_set():
                    return
                if answer is None:
                    self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                    return
                # WeChat answers code2Session as text/plain: the client must not rely on the type.
                kind = "text/plain" if url.path == "/sns/jscode2session" else "application/json; encoding=utf-8"
                self._send(200, json.dumps(answer, ensure_ascii=False).encode(), kind)

            def _client_gone(self) -> bool:
                """Whether the client closed its end (it timed out): a readable socket with nothing to read."""
                try:
                    readable, _w, _x = select.select([self.connection], [], [], 0)
                    return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up first (that is what "slow" is for).
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                # The path only: the query holds the secret, and bodies may hold session keys.
                logger.info("fake wechat: %s %s", self.command, urlsplit(self.path).path)

        return Handler


def main(argv: list[str] | None = None) -> None:
    """`python -m devtools.fake_wechat [--port N ...]`: the management command without manage.py."""
    import os
    import sys

    import django
    from django.core.management import call_command

    # The development settings unless told otherwise: they hold the dev appid, secret and push token.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    call_command("fake_wechat", *(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
