"""The log a real server writes during a whole run holds no personal value.

gunicorn runs the API and the console as compose runs `api` (production settings: DEBUG and
TESTING off, LOG_LEVEL INFO, the access log on stdout), on a SQLite database of its own, with the
fake WeChat in place of WeChat; its stdout and stderr go to one file, and the task worker's
(`db_worker --batch`, run after the requests) is appended to it. A scripted run goes through it
over HTTP: a WeChat login, the phone bound, the 双报到 with an ID number and its approval, the
volunteer profile with an ID number, an appeal and a demand with contact phones, an enrolment, a
check-in and check-out from a position, hours filed and approved, requests refused for bad input
that carries phones and ID numbers, the owner's export, and the console as the secretary and the
street admin, each signed in through the login form (lists, change pages, the 工作台, attendance,
the check-in screen, exports). Then every line of the file is scanned (tests/security/
personal_data.py): no phone, ID number, WeChat session key, console session, password, access token
or check-in position.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bench.processes import Server
from devtools.fake_wechat import FakeWeChat
from tests.members.factories import id_number

from .personal_data import Scanner

pytestmark = [pytest.mark.security]

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PORT = int(os.environ.get("SERVER_LOG_PORT", "8160"))
WECHAT_PORT = int(os.environ.get("FAKE_WECHAT_PORT", "8165"))
WECHAT_PHONE = "13755551001"
# compose.yaml's `api`: the path without its query string, no referer.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
CONTACT_PHONE = "13755551002"
MEMBER_PHONE = "13755551003"
# Valid resident ID numbers (their check digits computed), known to no other test.
MEMBER_ID = id_number("43060219850615703")
VOLUNTEER_ID = id_number("43060219850615897")


def _env(workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TESTING", "DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL"}
        and not key.startswith("PYTEST")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "INFO",  # compose.yaml's
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            # A few users send every request: production's per-user rates would answer 429s.
            "THROTTLE_USER": "100000/min",
            "THROTTLE_ANON": "100000/min",
            "THROTTLE_WECHAT_ADDRESS": "100000/min",
            "WECHAT_API_BASE": f"http://127.0.0.1:{WECHAT_PORT}",
            "WECHAT_APPID": "wx-dev-appid",
            "WECHAT_SECRET": "dev-secret",
        }
    )
    return env


def _manage(env: dict[str, str], log: Path | None, *args: str) -> str:
    done = subprocess.run([PY, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if log is not None:
        with log.open("a") as out:
            out.write(done.stdout + done.stderr)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


class Browser:
    """A console session over plain HTTP: the session cookie is Secure in production, which a
    cookie jar keeps off http://, so it is carried by hand."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.cookies: dict[str, str] = {}
        self.requests = 0

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep(self, response: httpx.Response) -> httpx.Response:
        self.requests += 1
        # Read from the headers: a cookie jar drops Secure cookies received over http://.
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response

    def get(self, path: str) -> httpx.Response:
        return self._keep(self.http.get(path, headers=self._headers()))

    def sign_in(self, phone: str, password: str) -> None:
        """The console's login form as a person fills it in: its page, its CSRF token, the post."""
        page = self.get("/admin/login/?next=/admin/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token, page.status_code
        body = {"csrfmiddlewaretoken": token.group(1), "username": phone, "password": password, "next": "/admin/"}
        answer = self._keep(self.http.post("/admin/login/?next=/admin/", data=body, headers=self._headers()))
        assert answer.status_code == 302 and "sessionid" in self.cookies, (answer.status_code, answer.text[:300])


class Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=60)
        self.token = token
        self.requests = 0

    def call(self, method: str, path: str, body: object = None, *, expect: tuple[int, ...] = (200, 201)):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.request(method, path, json=body, headers=headers)
        self.requests += 1
        assert response.status_code in expect, (method, path, response.status_code, response.text[:500])
        try:
            return response.json()
        except ValueError:
            return None


def _pages(seed: dict) -> list[str]:
    """The console pages a secretary opens in a day: lists, a change page of each, her own screens."""
    activity = seed["activity"]
    return [
        "/admin/",
        "/admin/members/partymember/",
        "/admin/members/memberregistration/",
        "/admin/members/demand/",
        "/admin/appeals/appeal/",
        "/admin/volunteers/volunteer/",
        "/admin/volunteers/servicerecord/",
        "/admin/activities/activity/",
        f"/admin/activities/activity/{activity}/change/",
        f"/admin/console/attendance/{activity}/",
        "/admin/console/checkin/",
        f"/admin/console/checkin/{activity}/",
        f"/admin/console/checkin/{activity}/counts/",
        "/admin/console/street/",
        "/admin/console/import/",
        f"/api/v1/activities/{activity}/attendance/export/",
    ]


def _change_pages(browser: Browser) -> int:
    """Each list's first row opened, as a secretary does: the change page shows a person's details."""
    opened = 0
    for listing in ("members/partymember", "members/memberregistration", "appeals/appeal", "volunteers/volunteer"):
        page = browser.get(f"/admin/{listing}/").text
        match = re.search(rf'href="/admin/{listing}/(\d+)/change/', page)
        if match:
            assert browser.get(f"/admin/{listing}/{match.group(1)}/change/").status_code == 200
            opened += 1
    return opened


def _resident_run(api: Api, seed: dict, wechat: FakeWeChat) -> dict:
    """A resident from the first WeChat login to the end of their day, through the API only."""
    login = api.call("POST", "/auth/wechat/login/", {"code": "server-log-person"})
    api.token = login["access"]
    community = seed["community"]
    api.call("POST", "/auth/wechat/phone/", {"code": f"phone-{WECHAT_PHONE}"})
    api.call("PATCH", "/auth/users/me/", {"real_name": "钱七", "community": community})
    registration = api.call(
        "POST",
        "/members/registrations/",
        {
            "community": community,
            "organization": seed["branch"],
            "real_name": "钱七",
            "phone": MEMBER_PHONE,
            "status": "full",
            "consent": True,
            "id_number": MEMBER_ID,
        },
    )
    api.call(
        "POST",
        "/volunteers/me/",
        {
            "community": community,
            "real_name": "钱七",
            "id_type": "resident_id",
            "id_number": VOLUNTEER_ID,
            "consent": True,
        },
    )
    appeal = {
        "client_id": str(uuid.uuid4()),
        "community": community,
        "category": "environment",
        "content": f"楼道堆放杂物，请回电 {CONTACT_PHONE}",
        "contact_name": "钱七",
        "contact_phone": CONTACT_PHONE,
    }
    api.call("POST", "/appeals/", appeal)
    api.call("POST", "/appeals/", appeal, expect=(200, 201))  # the retry
    api.call(
        "POST",
        "/demands/",
        {"kind": "wish", "community": community, "title": "想要一台收音机", "contact_phone": CONTACT_PHONE},
    )
    # Refused input that carries personal values: bad phones and ID numbers, wrong types, a filter.
    refused = (400, 401, 403, 404, 409)
    api.call("PATCH", "/auth/users/me/", {"real_name": [CONTACT_PHONE], "community": "x"}, expect=refused)
    # A second profile answers with the first (200): the wrong ID number still went through the server.
    api.call("POST", "/volunteers/me/", {"id_number": MEMBER_ID[:-1] + "0", "consent": True}, expect=(200, *refused))
    api.call("POST", "/appeals/", {**appeal, "client_id": "x", "contact_phone": [CONTACT_PHONE]}, expect=refused)
    # A contact number with an extension: taken as given (landlines and extensions are contacts too).
    extension = {**appeal, "client_id": str(uuid.uuid4()), "contact_phone": CONTACT_PHONE + "12"}
    api.call("POST", "/appeals/", extension, expect=(201, *refused))
    api.call("POST", "/auth/jwt/create/", {"phone": CONTACT_PHONE, "password": "wrong"}, expect=refused)
    api.call("GET", f"/members/?search={CONTACT_PHONE}", expect=refused)
    return {"registration": registration["id"]}


def _checkin_run(api: Api, staff: Api, seed: dict) -> list[tuple[float, float]]:
    activity = seed["activity"]
    lat, lon = seed["activity_position"]
    position = (round(lat + 0.00031, 6), round(lon + 0.00019, 6))
    api.call("POST", f"/activities/{activity}/enrollment/", {})
    code = staff.call("GET", f"/activities/{activity}/checkin-code/")
    body = {"token": code["token"], "latitude": position[0], "longitude": position[1], "accuracy": 12}
    api.call("POST", f"/activities/{activity}/check-in/", {"client_id": str(uuid.uuid4()), **body})
    code = staff.call("GET", f"/activities/{activity}/checkin-code/")
    body["token"] = code["token"]
    api.call("POST", f"/activities/{activity}/check-out/", {"client_id": str(uuid.uuid4()), **body})
    return [position]


def _staff_run(staff: Api, seed: dict, filed: dict) -> None:
    staff.call("POST", f"/members/registrations/{filed['registration']}/approve/", {})
    for path in ("/members/", "/appeals/", "/volunteers/records/", "/members/registrations/", "/demands/"):
        staff.call("GET", path)
    appeals = staff.call("GET", "/appeals/")["results"]
    for appeal in appeals[:3]:
        staff.call("GET", f"/appeals/{appeal['id']}/")
    records = staff.call("GET", "/volunteers/records/?status=pending")["results"]
    for record in records[:3]:
        staff.call("POST", f"/volunteers/records/{record['id']}/approve/", {}, expect=(200, 409))
    staff.call("GET", f"/volunteers/records/export/?community={seed['community']}")
    staff.call("GET", f"/communities/{seed['community']}/coverage/export/")


def test_a_real_servers_log_of_a_whole_run_holds_no_personal_value(tmp_path, figures):
    workdir = tmp_path
    env = _env(workdir)
    log = workdir / "server.log"
    _manage(env, None, "manage.py", "migrate", "--noinput")
    _manage(env, None, "manage.py", "collectstatic", "--noinput")
    seed = json.loads(_manage(env, None, "-m", "tests.security.server_log_seed").strip().splitlines()[-1])
    argv = [PY, "-m", "gunicorn", "backend.wsgi:application", "--bind", f"127.0.0.1:{PORT}"]
    argv += ["--workers", "1", "--threads", "4", "--timeout", "60"]
    argv += ["--worker-class", "backend.core.gunicorn_worker.BalancedThreadWorker"]
    argv += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
    server = Server("gunicorn", argv, env, log)
    base = f"http://127.0.0.1:{PORT}"
    requests = 0
    with FakeWeChat(port=WECHAT_PORT, appid="wx-dev-appid", secret="dev-secret") as wechat:
        server.start()
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.alive(), server.log_tail()
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, server.log_tail()
                time.sleep(0.3)
            staff = Api(base)
            staff.token = staff.call("POST", "/auth/jwt/create/", seed["staff"])["access"]
            person = Api(base)
            credentials = {"phone": seed["person"]["phone"], "password": seed["person"]["password"]}
            person.token = person.call("POST", "/auth/jwt/create/", credentials)["access"]
            resident = Api(base)
            filed = _resident_run(resident, seed, wechat)
            _staff_run(staff, seed, filed)
            positions = _checkin_run(resident, staff, seed)
            person.call("GET", "/auth/users/me/export/")
            resident.call("GET", "/auth/users/me/export/")

            pages = 0
            secrets_sent: dict[str, str] = {}
            for who in ("staff", "street_admin"):
                browser = Browser(base)
                browser.sign_in(seed[who]["phone"], seed[who]["password"])
                secrets_sent[browser.cookies["sessionid"]] = "console session"
                secrets_sent[seed[who]["password"]] = "password"
                for page in _pages(seed):
                    answer = browser.get(page)
                    assert answer.status_code in (200, 302, 401, 403, 404), (who, page, answer.status_code)
                    pages += 1
                pages += _change_pages(browser)
                browser.get("/admin/console/street/?export=coverage")
                requests += browser.requests
            resident.call(
                "POST",
                "/auth/users/me/deletion/",
                {"confirm": True, "wechat_code": "server-log-person:2"},
                expect=(204,),
            )
            requests += staff.requests + person.requests + resident.requests
            for api in (staff, person, resident):
                secrets_sent[str(api.token)] = "access token"
        finally:
            server.stop()
        _manage(env, log, "manage.py", "db_worker", "--batch")
        session_keys = list(wechat.issued_session_keys)

    lines = log.read_text(errors="replace").splitlines()
    needles = dict.fromkeys(session_keys, "session_key") | secrets_sent
    for lat, lon in [*positions, *map(tuple, seed["positions"])]:
        for value in (lat, lon):
            needles[f"{value:.6f}"[:-1]] = "check-in position"
            needles[f"{value:.5f}"] = "check-in position"
    scanner = Scanner(needles=needles)
    scanned = scanner.log_lines(("server.log", line) for line in lines)
    # The run reached the log: an access line for each request at least.
    assert scanned >= requests, (scanned, requests)
    figures["server log"] = (
        f"{scanned} lines of a real server's log over {requests} requests ({pages} console pages), "
        f"{len(scanner.findings)} leaks"
    )
    leaking = [mask_digits(line) for line in lines if _leaks(line, needles)]
    assert not scanner.findings, "\n".join([*sorted(set(scanner.findings)), *leaking])


def _leaks(line: str, needles: dict[str, str]) -> bool:
    probe = Scanner(needles=needles)
    probe.log_lines([("server.log", line)])
    return bool(probe.findings)


def mask_digits(line: str) -> str:
    """The line as it can be shown: runs of 7 digits or more cut to their first 3 and last 2."""
    return re.sub(r"\d{7,}", lambda m: f"{m.group(0)[:3]}…{m.group(0)[-2:]}", line)
