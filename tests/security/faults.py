"""The fault tests' stack: everything they break is theirs alone.

A Redis server of its own (`redis-server` on a free port, no persistence), a PostgreSQL database
of its own (`fault_<random>`, migrated, dropped at the end), gunicorn for the API and daphne for
the sockets (as compose runs `api` and `ws`), the fake WeChat on a fixed port so it can be stopped
and started again, and the task worker run on demand (`db_worker --batch`). The servers' database
connections carry an application_name of this run, so terminating them touches no one else's.
Everything is stopped and removed however the tests end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.processes import Server, free_port
from devtools.fake_wechat import FakeWeChat

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PG_ADMIN_URL = os.environ.get("FAULTS_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
WECHAT_TIMEOUT = 2.0
RETRY_BASE_SECONDS = 0.5


class Unavailable(Exception):
    """PostgreSQL or redis-server is not there: the tests skip."""


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class PrivateRedis:
    """redis-server on a port of its own, never the machine's shared one; stop() and start() at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(workdir)]
        self.process = Server("redis", argv, {"PATH": os.environ.get("PATH", "")}, workdir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process.start()
        deadline = time.monotonic() + 15
        while not port_open(self.port):
            if not self.process.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.process.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.stop()


@contextlib.contextmanager
def private_database(run_id: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"fault_{run_id}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise Unavailable(f"PostgreSQL at {PG_ADMIN_URL}: {exc}") from exc
    try:
        yield urlsplit(PG_ADMIN_URL)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            # FORCE: a server that did not stop in time must not leave the database behind.
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Seed:
    community: int
    offline_community: int
    secretary: str
    residents: list[dict]
    other_secretary: str
    subscriber: dict


@dataclass
class Stack:
    run_id: str
    workdir: Path
    database_url: str
    redis: PrivateRedis
    env: dict[str, str]
    app_name: str
    wechat_port: int
    api: Server | None = None
    api_port: int = 0
    ws: Server | None = None
    ws_port: int = 0
    wechat: FakeWeChat | None = None
    # Every fake WeChat started: messages sent to one that was later stopped still count.
    wechats: list[FakeWeChat] = field(default_factory=list)
    seed: Seed | None = None

    # --- the servers -----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws/notices/"

    def manage(self, *args: str, timeout: float = 240) -> str:
        done = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start_api(self) -> None:
        self.api_port = self.api_port or free_port()
        argv = [PY, "-m", "gunicorn", "backend.wsgi:application", "--bind", f"127.0.0.1:{self.api_port}"]
        # One process of four threads: the shape of an `api` replica's worker, at a tenth of the cost.
        argv += ["--workers", "1", "--threads", "4", "--timeout", "30"]
        argv += ["--worker-class", "backend.core.gunicorn_worker.BalancedThreadWorker"]
        argv += ["--graceful-timeout", "5", "--log-level", "warning"]
        self.api = Server("gunicorn", argv, self.env, self.workdir / "gunicorn.log")
        self.api.start()
        self.wait_healthy(self.api, self.api_url)

    def start_ws(self) -> None:
        self.ws_port = self.ws_port or free_port()
        argv = [PY, "-m", "backend.wsserver", "-b", "127.0.0.1", "-p", str(self.ws_port), "backend.asgi:application"]
        self.ws = Server("daphne", argv, self.env, self.workdir / "daphne.log")
        self.ws.start()
        self.wait_healthy(self.ws, f"http://127.0.0.1:{self.ws_port}")

    def wait_healthy(self, process: Server, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited while starting:\n{process.log_tail()}")
            try:
                response = httpx.get(f"{url}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise RuntimeError(f"{process.name} not healthy after {timeout:.0f} s ({last}):\n{process.log_tail()}")

    def start_wechat(self, *, delay: float = 0.0) -> FakeWeChat:
        """The fake WeChat on its fixed port (a fresh instance, as after a restart of the real thing)."""
        self.stop_wechat()
        deadline = time.monotonic() + 10
        while True:
            try:
                fake = FakeWeChat(port=self.wechat_port, delay_seconds=delay)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.wechat = fake.start()
        self.wechats.append(fake)
        return fake

    def stop_wechat(self) -> None:
        if self.wechat is not None:
            self.wechat.stop()
            self.wechat = None

    def run_worker(self) -> None:
        """The task worker until no task is due (scheduled retries wait for a later run)."""
        self.manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0.1", timeout=120)

    def stop(self) -> None:
        for process in (self.ws, self.api):
            if process is not None:
                process.stop()
        self.stop_wechat()
        self.redis.stop()

    # --- the database, as the tests look at it -------------------------------------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def terminate_connections(self) -> list[int]:
        """Terminate every server connection of this run (pg_terminate_backend by application_name).

        Returns the pids once PostgreSQL no longer lists them: after that no request can be handed
        a connection that is still on its way out.
        """
        pids = [
            pid
            for (pid,) in self.sql(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
                (self.app_name,),
            )
        ]
        if pids:
            self.sql("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        deadline = time.monotonic() + 10
        while self.sql("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"backends {pids} still there 10 s after pg_terminate_backend")
            time.sleep(0.02)
        return pids

    def notice_ids_after(self, after_id: int, community: int) -> list[int]:
        query = "SELECT id FROM notices_notice WHERE id > %s AND community_id = %s ORDER BY id"
        rows = self.sql(query, (after_id, community))
        return [pk for (pk,) in rows]

    def last_notice_id(self) -> int:
        return self.sql("SELECT coalesce(max(id), 0) FROM notices_notice")[0][0]

    def half_written_notices(self) -> list[int]:
        """Notices whose receipts are not all there (or more than there should be)."""
        rows = self.sql(
            "SELECT n.id FROM notices_notice n LEFT JOIN notices_noticereceipt r ON r.notice_id = n.id "
            "GROUP BY n.id HAVING count(r.id) <> max(n.recipient_count)"
        )
        return [pk for (pk,) in rows]


def server_env(*, database_url: str, redis_url: str, app_name: str, wechat_port: int, workdir: Path) -> dict[str, str]:
    """Production settings (DEBUG and TESTING off: tasks go to the database queue) on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TESTING", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "TRUSTED_PROXIES": "0",
            "DATABASE_URL": database_url,
            "DB_APPLICATION_NAME": app_name,
            "DB_POOL_MIN_SIZE": "2",
            "DB_POOL_MAX_SIZE": "6",
            "REDIS_URL": redis_url,
            "CHANNEL_PREFIX": "faults",
            "CACHE_PREFIX": "faults",
            # A few users send every request: production's per-user rates would answer 429s.
            "THROTTLE_USER": "100000/min",
            "THROTTLE_ANON": "100000/min",
            "THROTTLE_WECHAT_ADDRESS": "100000/min",
            "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_port}",
            "WECHAT_APPID": "wx-dev-appid",
            "WECHAT_SECRET": "dev-secret",
            "WECHAT_TIMEOUT": str(WECHAT_TIMEOUT),
            "NOTICES_SUBSCRIBE_RETRY_BASE_SECONDS": str(RETRY_BASE_SECONDS),
            "VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "SERVE_STATIC": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


@contextlib.contextmanager
def fault_stack() -> Iterator[Stack]:
    """The whole stack, seeded; raises Unavailable when PostgreSQL or redis-server is missing."""
    if not os.access(REDIS_SERVER, os.X_OK):
        raise Unavailable("redis-server is not installed")
    run_id = secrets.token_hex(4)
    workdir = ROOT / "var" / f"faults-{run_id}"
    workdir.mkdir(parents=True)
    stack: Stack | None = None
    try:
        with private_database(run_id) as database_url:
            redis = PrivateRedis(workdir)
            app_name = f"faults-{run_id}"
            wechat_port = free_port()
            env = server_env(
                database_url=database_url,
                redis_url=redis.url,
                app_name=app_name,
                wechat_port=wechat_port,
                workdir=workdir,
            )
            stack = Stack(run_id, workdir, database_url, redis, env, app_name, wechat_port)
            try:
                redis.start()
                stack.manage("migrate", "--noinput")
                seed_argv = [PY, "-m", "tests.security.fault_seed"]
                seeded = subprocess.run(seed_argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
                if seeded.returncode != 0:
                    raise RuntimeError(f"seeding failed:\n{seeded.stderr[-3000:]}")
                stack.seed = Seed(**json.loads(seeded.stdout.strip().splitlines()[-1]))
                stack.start_wechat()
                stack.start_api()
                stack.start_ws()
                yield stack
            finally:
                stack.stop()
    finally:
        if stack is None or not os.environ.get("FAULTS_KEEP_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)


# --- clients ------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class NoticeClient:
    """A mini-program's socket, as docs/realtime.md tells clients to write it.

    Connects, sends `resume` with its last id, records every notice, raises its last id when
    `resumed` arrives and with each notice after it, and reconnects (after a short backoff)
    whenever the socket closes, until stopped. It does not dedupe: what each socket received is
    kept apart, so a notice sent twice on one socket counts as doubled.
    """

    def __init__(self, url: str, token: str, *, after_id: int) -> None:
        self.url = url
        self.token = token
        self.last_id = after_id
        # Per socket: the notices received before its `resumed`, and those after it.
        self.sockets: list[tuple[list[int], list[int]]] = []
        self.closes: Counter[str] = Counter()
        self._task: asyncio.Task | None = None

    @property
    def connections(self) -> int:
        return len(self.sockets)

    @property
    def received(self) -> list[int]:
        return [pk for before, after in self.sockets for pk in (*before, *after)]

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with connect(self.url, additional_headers=bearer(self.token), open_timeout=5) as ws:
                    before: list[int] = []
                    after: list[int] = []
                    self.sockets.append((before, after))
                    resumed = False
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "hello":
                            await ws.send(json.dumps({"type": "resume", "after_id": self.last_id}))
                        elif message["type"] == "resumed":
                            resumed = True
                            self.last_id = max([self.last_id, *before])
                        elif message["type"] == "notice":
                            notice_id = message["notice"]["id"]
                            (after if resumed else before).append(notice_id)
                            if resumed:
                                self.last_id = max(self.last_id, notice_id)
                self.closes["closed"] += 1
            except ConnectionClosed as exc:
                self.closes[str(exc.rcvd.code if exc.rcvd else 1006)] += 1
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.closes[type(exc).__name__] += 1
            await asyncio.sleep(0.2)

    async def wait_for(self, ids: list[int], timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while not set(ids) <= set(self.received):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def tally(self, expected: list[int]) -> tuple[int, int, bool]:
        """(lost, doubled, in order) against the notices this client should have.

        Doubled: sent twice on one socket (across sockets a repeat is allowed; clients dedupe by id).
        In order: on every socket, what came after `resumed` is ascending and newer than all before it.
        """
        received = set(self.received)
        lost = sum(1 for pk in expected if pk not in received)
        doubled = 0
        in_order = True
        for before, after in self.sockets:
            doubled += len(before) + len(after) - len(set(before) | set(after))
            if after != sorted(after) or (before and after and min(after) <= max(before)):
                in_order = False
        return lost, doubled, in_order


@dataclass
class Call:
    """One HTTP request as a client saw it."""

    started: float
    ended: float
    status: int  # 0: no answer (connection refused, reset, timed out)
    notice_id: int | None = None


async def post_notice(client: httpx.AsyncClient, token: str, community: int, title: str) -> Call:
    started = time.monotonic()
    try:
        response = await client.post(
            "/api/v1/notices/",
            json={"title": title, "body": f"{title}: fault test", "audience": {"community": community}},
            headers=bearer(token),
        )
    except httpx.HTTPError:
        return Call(started, time.monotonic(), 0)
    notice_id = response.json().get("id") if response.status_code == 201 else None
    return Call(started, time.monotonic(), response.status_code, notice_id)
