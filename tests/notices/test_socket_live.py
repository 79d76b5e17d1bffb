"""Real sockets (the `websockets` client) against daphne running as a separate process.

The embedded default (SQLite, in-memory layer) gets its own migrated SQLite file, because
pytest-django's SQLite test database lives in memory where no other process can see it.
The production shape (two daphne processes on PostgreSQL + Redis) runs only when REDIS_URL and a
PostgreSQL DATABASE_URL are set: the processes then share pytest-django's test database, which
`transaction=True` tests commit to.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
SERVICES = bool(os.environ.get("REDIS_URL")) and os.environ.get("DATABASE_URL", "").startswith("postgres")

pytestmark = pytest.mark.slow


# The ports these servers may take: a range of their own on a machine where others run servers too.
PORTS = range(8400, 8500)


def free_port() -> int:
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def max_message_size() -> int:
    """daphne's WebSocket frame cap as `make run` and compose.yaml run it (one figure in both)."""
    pattern = re.compile(r"--websocket-max-message-size=(\d+)")
    texts = [(ROOT / path).read_text() for path in ("scripts/run.sh", "compose.yaml")]
    found = {int(size) for text in texts for size in pattern.findall(text)}
    assert len(found) == 1, f"scripts/run.sh and compose.yaml should give daphne one frame cap, found {found}"
    return found.pop()


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def server_env(**values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CHANNEL_PREFIX", "CACHE_PREFIX", "PYTEST_CURRENT_TEST"}
    }
    # backend.settings, not tests.settings: the latter gives each process its own channel prefix.
    env.update({"DJANGO_SETTINGS_MODULE": "backend.settings", "TESTING": "1", "PYTHONUNBUFFERED": "1", **values})
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


class Daphne:
    """One daphne process serving backend.asgi (HTTP and WebSocket), its output in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        # As compose.yaml and `make run` start it (backend/wsserver.py: daphne closing with 1009).
        command = [sys.executable, "-m", "backend.wsserver", "-b", "127.0.0.1", "-p", str(self.port)]
        command += [f"--websocket-max-message-size={max_message_size()}", "backend.asgi:application"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, self.process, log)
        except BaseException:
            stop(self.process)
            raise

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notices/"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop(self.process)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def receive(ws: ClientConnection, timeout: float = 10) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def close_code(ws: ClientConnection, timeout: float = 10) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout)
    return closed.value.rcvd.code if closed.value.rcvd else None


# The embedded default: one daphne, SQLite, in-memory channel layer


@dataclass
class SqliteSite:
    server: Daphne
    user_id: int
    token: str


CREATE_USER = """
from backend.accounts.models import User
from rest_framework_simplejwt.tokens import AccessToken
user = User.objects.create_user(phone="13900000001")
print(user.pk, AccessToken.for_user(user))
"""


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live-sqlite")
    env = server_env(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", VAR_DIR=str(folder))
    manage(env, "migrate", "--noinput")
    user_id, token = manage(env, "shell", "-c", CREATE_USER).split()[-2:]
    server = Daphne(env, folder / "daphne.log")
    yield SqliteSite(server, int(user_id), token)
    server.stop()


async def test_header_auth_against_a_running_daphne(sqlite_site):
    async with connect(sqlite_site.server.ws, additional_headers=bearer(sqlite_site.token)) as ws:
        assert await receive(ws) == {"type": "hello", "user_id": sqlite_site.user_id, "last_notice_id": 0}
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}


async def test_a_query_token_signs_in_and_never_reaches_the_log(sqlite_site):
    async with connect(f"{sqlite_site.server.ws}?token={sqlite_site.token}") as ws:
        assert (await receive(ws))["user_id"] == sqlite_site.user_id
    await asyncio.sleep(0.3)
    output = sqlite_site.server.output()
    assert "WSCONNECT /ws/notices/" in output, "daphne's access log is on, and writes the path"
    assert sqlite_site.token not in output
    assert sqlite_site.token.split(".")[2] not in output


async def test_over_the_wire_a_missing_token_closes_4401_and_a_foreign_origin_is_refused(sqlite_site):
    async with connect(sqlite_site.server.ws) as ws:
        assert await close_code(ws) == 4401
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            sqlite_site.server.ws, origin="https://evil.example", additional_headers=bearer(sqlite_site.token)
        ):
            pass
    assert refused.value.response.status_code == 403
    async with connect(
        sqlite_site.server.ws, origin="http://localhost", additional_headers=bearer(sqlite_site.token)
    ) as ws:
        assert (await receive(ws))["type"] == "hello"


async def test_a_frame_over_daphnes_cap_closes_1009_and_one_under_it_gets_validation_error(sqlite_site):
    cap = max_message_size()
    async with connect(sqlite_site.server.ws, additional_headers=bearer(sqlite_site.token)) as ws:
        assert (await receive(ws))["type"] == "hello"
        # Over the consumer's 4096 characters, under daphne's cap: the consumer answers, the socket stays.
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
        answer = await receive(ws)
        assert (answer["type"], answer["code"]) == ("error", "validation_error")
        # Nested a thousand deep: under both caps, still only a validation error.
        await ws.send("[" * 2000 + "]" * 2000)
        answer = await receive(ws)
        assert (answer["type"], answer["code"]) == ("error", "validation_error")
        await ws.send(json.dumps({"type": "resume", "after_id": 2**70}))
        answer = await receive(ws)
        assert (answer["type"], answer["code"]) == ("error", "validation_error")
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
        await ws.send("x" * (cap + 1))
        assert await close_code(ws) == 1009


# The production shape: several daphne processes on PostgreSQL and Redis

services = pytest.mark.skipif(not SERVICES, reason="needs REDIS_URL and a PostgreSQL DATABASE_URL")


class PrivateRedis:
    """A throwaway redis-server of our own, so stopping it disturbs nobody else."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.folder / f"redis-{self.port}.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@dataclass
class PgSite:
    folder: Path
    env: dict[str, str]
    servers: list[Daphne]
    resident_id: int
    resident_token: str
    staff_token: str
    community_id: int

    def daphne(self, **env: str) -> Daphne:
        server = Daphne({**self.env, **env}, self.folder / f"daphne-{len(self.servers)}.log")
        self.servers.append(server)
        return server


@pytest.fixture
def pg_site(transactional_db, tmp_path):
    """Users committed to the test database, and a way to start daphne processes that see it.

    Depends on `transactional_db`, so the servers stop before pytest-django empties the tables.
    """
    from django.db import connection
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests import factories

    community = factories.CommunityFactory()
    resident = factories.UserFactory(community=community)
    staff = factories.staff_of(community)
    database = urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    prefix = f"live{uuid.uuid4().hex[:10]}"
    env = server_env(
        DATABASE_URL=database,
        REDIS_URL=os.environ["REDIS_URL"],
        CHANNEL_PREFIX=prefix,
        CACHE_PREFIX=prefix,
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE="4",
        VAR_DIR=str(tmp_path),
    )
    site = PgSite(
        folder=tmp_path,
        env=env,
        servers=[],
        resident_id=resident.pk,
        resident_token=str(RefreshToken.for_user(resident).access_token),
        staff_token=str(RefreshToken.for_user(staff).access_token),
        community_id=community.pk,
    )
    yield site
    for server in site.servers:
        server.stop()


async def post_notice(server: Daphne, site: PgSite, title: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as http:
        return await http.post(
            "/api/v1/notices/",
            json={"title": title, "body": "请留意", "audience": {"community": site.community_id}},
            headers=bearer(site.staff_token),
        )


@pytest.mark.services
@services
async def test_a_notice_posted_through_one_daphne_reaches_a_socket_on_another(pg_site):
    api, sockets = pg_site.daphne(), pg_site.daphne()
    async with connect(sockets.ws, additional_headers=bearer(pg_site.resident_token)) as ws:
        assert (await receive(ws))["user_id"] == pg_site.resident_id
        response = await post_notice(api, pg_site, "停电通知")
        assert response.status_code == 201, response.text
        message = await receive(ws)
        assert message["type"] == "notice"
        assert (message["notice"]["id"], message["notice"]["title"]) == (response.json()["id"], "停电通知")


async def resumed_notices(server: Daphne, site: PgSite, after_id: int, timeout: float = 30) -> list[int]:
    """Reconnect (retrying while the server cannot serve yet) and resume: the ids replayed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with connect(server.ws, additional_headers=bearer(site.resident_token)) as ws:
                hello = await receive(ws)
                assert hello["type"] == "hello"
                await ws.send(json.dumps({"type": "resume", "after_id": after_id}))
                ids = []
                while (message := await receive(ws))["type"] != "resumed":
                    assert message["type"] == "notice"
                    ids.append(message["notice"]["id"])
                return ids
        except (ConnectionClosed, InvalidStatus, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


@pytest.mark.services
@services
async def test_with_redis_down_writes_succeed_and_a_resume_recovers_every_notice(pg_site):
    redis = PrivateRedis(pg_site.folder)
    redis.start()
    try:
        api = pg_site.daphne(REDIS_URL=redis.url)
        async with connect(api.ws, additional_headers=bearer(pg_site.resident_token)) as ws:
            await receive(ws)
            first = await post_notice(api, pg_site, "第一条")
            assert first.status_code == 201, first.text
            last_seen = (await receive(ws))["notice"]["id"]

            redis.stop()
            # The socket's live stream is gone with the layer: it is closed, and the client reconnects.
            assert await close_code(ws, timeout=20) == 1011
            written = []
            for n in range(3):
                response = await post_notice(api, pg_site, f"停机期间{n}")
                assert response.status_code == 201, f"{response.text}\n{api.output()[-4000:]}"
                written.append(response.json()["id"])

        redis.start()
        assert await resumed_notices(api, pg_site, last_seen) == written
    finally:
        redis.stop()
