"""Realtime fan-out: one community notice to every open socket, beside a bare group_send of it.

Two scenarios (`BENCH_FANOUT_SCENARIOS`, default `1000x1,5000x4`): 1,000 sockets on one daphne
process, then 5,000 over four. Every socket belongs to its own resident of one community, seeded
with bulk_create; each connects as the mini-program does, with an access token in the
`Authorization` header (tokens minted here with simplejwt, not one login per user), and waits for
`hello`. The daphne processes are the benchmark's own (`ctx.daphnes(n)`), so their memory can
be read from /proc before and after the sockets open.

- **ours**: a community secretary sends `POST /api/v1/notices/` to gunicorn with
  `audience={"community": id}`: validation, scope, the audience query, the advisory lock, the notice
  row and one receipt per recipient, the commit, then the live send from the request (live.py:
  the members of every recipient's `user.<id>` group read from Redis, one message per daphne
  process naming its sockets), and out on every socket.
- **ceiling**: from this process, on an event loop whose Redis connections are already open, one
  `channel_layer.group_send` of the same message (`notice.message`, the payload the POST answered,
  under an id of its own so that the consumers do not drop it as already sent) to one group that
  holds exactly these sockets' channels (read from the recipients' user groups before the rounds,
  not timed). That is the least the stack can do to put one payload on these sockets: Redis gets
  one message per daphne process, and each process hands it to its consumers, which send it as
  they send every notice. Everything ours adds is the request, the database and the reading of
  the user groups.
- **one group_send per user**, once per scenario, for reference: the same message with one
  `group_send` per recipient's user group, 100 at a time. That is how live.py sent before, and
  what the consumer's groups invite; it is not the ceiling, because each group_send costs four
  Redis round trips in the sender and puts one message per socket in Redis, which daphne pops one
  at a time.

Each is timed from just before the POST (or the group_send) to the arrival of the notice
on the median socket and on the last one, as the client processes' clocks see it
(CLOCK_MONOTONIC is the same clock in every process of the machine). Rounds alternate ceiling
and ours after one warm-up of each; the best round of each side is reported. Every socket must
receive every notice: a failed connection, a socket closed by the server or a notice missing
after ARRIVAL_TIMEOUT is an error, and errors fail the benchmark.

The sockets live in separate client processes (asyncio and `websockets`, on 127.0.0.1 only),
CLIENT_SOCKETS sockets each at most, connecting CONNECT_CONCURRENCY at a time per process.
Targets (issue 3): the last of 1,000 sockets within 1 s; at 5,000 no error; ours / ceiling ≤ 1.5.

    python -m bench.fanout client CONFIG    one client process (started by the benchmark)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import queue
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = os.environ.get("BENCH_FANOUT_SCENARIOS", "1000x1,5000x4")
ROUNDS = int(os.environ.get("BENCH_FANOUT_ROUNDS", "5"))
CLIENT_SOCKETS = 2500  # per client process: two processes for 5,000, as many as the machine has cores
CONNECT_CONCURRENCY = 50  # handshakes in flight per client process (daphne listens with a backlog of 50)
CONNECT_ATTEMPTS = 3
CONNECT_TIMEOUT = 240.0  # all sockets of a scenario open within this, or the scenario fails
ARRIVAL_TIMEOUT = 30.0  # a notice not on a socket this long after it was sent is an error
SETTLE = 1.0  # seconds of quiet before each measured send
CLOSE_GRACE = 12.0  # daphne gives a closed socket's consumer 10 s to finish before it kills it (and logs it)
CLIENT_LIFETIME = 900.0  # a client process exits by itself after this, whatever happens
CEILING_ID_BASE = 10**12  # ids for the ceiling's copies: far above any notice id, unique per send
TITLE = "停水通知"
BODY = (
    "因北门新区供水管网改造，明天 9:00–12:00 北门新区及周边小区停水，请提前储水。"
    "如有老人独居或行动不便的住户需要送水，请联系所在网格员或拨打社区服务电话，我们将安排党员志愿者上门。"
)


# --- the client process ----------------------------------------------------------------------


@dataclass
class ClientSocket:
    index: int
    url: str
    user_id: int
    token: str
    ws: Any = None
    reader: asyncio.Task | None = None
    closed_by_server: int | None = None


class ClientRun:
    """Holds the sockets of one client process and what arrived on them, by notice id."""

    def __init__(self, targets: list[list[Any]]) -> None:
        self.sockets = [ClientSocket(i, url, user_id, token) for i, (url, user_id, token) in enumerate(targets)]
        self.arrivals: dict[int, dict[int, float]] = {}
        self.errors: Counter[str] = Counter()
        self.retries = 0
        self.closing = False

    async def open_all(self) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        started = time.monotonic()
        await asyncio.gather(*(self.open_one(sock, gate) for sock in self.sockets))
        return {
            "event": "connected",
            "sockets": sum(1 for sock in self.sockets if sock.ws is not None),
            "seconds": round(time.monotonic() - started, 2),
            "retries": self.retries,
            "errors": dict(self.errors),
        }

    async def open_one(self, sock: ClientSocket, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        last_error = ""
        for attempt in range(CONNECT_ATTEMPTS):
            if attempt:
                self.retries += 1
                await asyncio.sleep(0.5 * attempt)
            async with gate:
                ws = None
                try:
                    ws = await connect(
                        f"{sock.url}/ws/notices/",
                        additional_headers={"Authorization": f"Bearer {sock.token}"},
                        open_timeout=30,
                        close_timeout=10,
                        ping_interval=None,  # daphne pings every 20 s and the client answers; no second timer
                        compression=None,  # as wx.connectSocket by default
                        max_queue=64,
                    )
                    hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
                except Exception as exc:  # noqa: BLE001 - counted and retried; the type is the report
                    last_error = type(exc).__name__
                    if ws is not None:
                        with contextlib.suppress(Exception):
                            await ws.close()
                    continue
            if hello.get("type") != "hello" or hello.get("user_id") != sock.user_id:
                self.errors[f"unexpected first message {str(hello)[:80]}"] += 1
                await ws.close()
                return
            sock.ws = ws
            sock.reader = asyncio.ensure_future(self.read(sock))
            return
        self.errors[f"connect failed: {last_error}"] += 1

    async def read(self, sock: ClientSocket) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in sock.ws:
                now = time.monotonic()
                data = json.loads(message)
                if data.get("type") == "notice":
                    self.arrivals.setdefault(data["notice"]["id"], {}).setdefault(sock.index, now)
        except ConnectionClosed:
            pass
        if not self.closing:
            sock.closed_by_server = sock.ws.close_code
            self.errors[f"closed by the server ({sock.ws.close_code})"] += 1

    async def collect(self, notice_id: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        open_sockets = [sock for sock in self.sockets if sock.ws is not None and sock.closed_by_server is None]
        while time.monotonic() < deadline:
            got = self.arrivals.get(notice_id, {})
            if all(sock.index in got for sock in open_sockets):
                break
            await asyncio.sleep(0.01)
        got = self.arrivals.pop(notice_id, {})
        return {
            "event": "arrivals",
            "id": notice_id,
            "times": list(got.values()),
            "missing": len(self.sockets) - len(got),
            "errors": dict(self.errors),
        }

    async def close_all(self) -> dict[str, Any]:
        self.closing = True
        gate = asyncio.Semaphore(200)
        started = time.monotonic()

        async def close(sock: ClientSocket) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await sock.ws.close()
                if sock.reader is not None:
                    with contextlib.suppress(Exception):
                        await sock.reader

        await asyncio.gather(*(close(sock) for sock in self.sockets if sock.ws is not None))
        return {"event": "closed", "seconds": round(time.monotonic() - started, 2)}


def say_to_parent(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def client_main(config_path: str) -> None:
    targets = json.loads(Path(config_path).read_text())
    run = ClientRun(targets)
    say_to_parent(await run.open_all())
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        command = line.split()
        if not command or command[0] == "close":
            say_to_parent(await run.close_all())
            return
        if command[0] == "collect":
            say_to_parent(await run.collect(int(command[1]), float(command[2])))


def raise_open_files(needed: int) -> None:
    """Raise this process's open-file limit (and its future children's) to `needed`, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"the open-file limit is {hard}; {needed} are needed (raise it with ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def client(config_path: str) -> None:
    raise_open_files(CLIENT_SOCKETS + 256)  # the sockets, plus the interpreter's own files
    # The parent may be killed without closing our stdin: never outlive a benchmark run.
    watchdog = threading.Timer(CLIENT_LIFETIME, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    asyncio.run(client_main(config_path))


# --- the benchmark (in the harness process) ---------------------------------------------------


class ClientProcess:
    """One client process: a config file of sockets to open, commands on stdin, JSON lines back."""

    def __init__(self, workdir: Path, name: str, targets: list[tuple[str, int, str]]) -> None:
        self.name = name
        config = workdir / f"{name}.json"
        config.write_text(json.dumps(targets))
        self.log_path = workdir / f"{name}.log"
        self.lines: queue.Queue[str | None] = queue.Queue()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.fanout", "client", str(config)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name} did not answer within {timeout:.0f} s") from None
        if line is None:
            tail = self.log_path.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{self.name} exited ({self.process.poll()}):\n{tail}")
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.send("close")
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Send:
    """One notice sent to every socket, measured from the send to each arrival."""

    side: str
    last: float = math.nan
    median: float = math.nan
    sender_seconds: float = 0.0  # until the POST answered, or the last group_send returned
    missing: int = 0
    daphne_cpu_ms_per_socket: float | None = None


@dataclass
class ScenarioResult:
    sockets: int
    processes: int
    recipients: int
    connect_seconds: float
    connect_retries: int
    mem_kib_per_conn: float
    errors: dict[str, int] = field(default_factory=dict)
    at_close: dict[str, int] = field(default_factory=dict)  # server warnings while every socket closed at once
    sends: list[Send] = field(default_factory=list)


def parse_scenarios(text: str) -> list[tuple[int, int]]:
    scenarios = []
    for part in text.split(","):
        sockets, _x, processes = part.strip().partition("x")
        scenarios.append((int(sockets), int(processes or 1)))
    return scenarios


def seed(run_id: str, sizes: list[int]) -> tuple[Any, list[tuple[Any, list[Any]]]]:
    """A street; per scenario a community with `size` residents; one secretary of all of them."""
    import secrets

    from django.contrib.auth.hashers import make_password

    from backend.accounts.models import Role, RoleGrant, User
    from backend.communities.models import Community, Street

    street = Street.objects.create(name=f"扇出街道{run_id}", city="岳阳市岳阳楼区")
    password = secrets.token_urlsafe(16)
    poster = User.objects.create_user(phone="13900000002", password=password, real_name="扇出书记")
    unusable = make_password(None)
    places = []
    for number, size in enumerate(sizes, start=1):
        community = Community.objects.create(street=street, name=f"扇出社区{number}", address=f"扇出路{number}号")
        RoleGrant.objects.create(user=poster, role=Role.COMMUNITY_SECRETARY, community=community)
        residents = User.objects.bulk_create(
            (User(real_name=f"居民{number}-{i}", community=community, password=unusable) for i in range(size)),
            batch_size=1000,
        )
        places.append((community, residents))
    return (poster, password), places


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        data = Path(f"/proc/{pid}/stat").read_text()
        fields = data[data.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def warm_up_socket(ws_url: str, token: str) -> None:
    """One socket opened and closed, so that code loaded on first use is not billed to the connections."""
    from websockets.sync.client import connect

    with connect(f"{ws_url}/ws/notices/", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = json.loads(ws.recv(timeout=30))
        if hello.get("type") != "hello":
            raise RuntimeError(f"first message was not hello: {hello}")


class Fanout:
    """Sends to the sockets of one scenario (ours, the ceiling, the per-user loop) and collects the arrivals."""

    def __init__(self, ctx: Any, clients: list[ClientProcess], daphne_pids: list[int]) -> None:
        from channels.layers import get_channel_layer
        from django.conf import settings

        self.ctx = ctx
        self.clients = clients
        self.daphne_pids = daphne_pids
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.user_groups: list[str] = []
        self.all_group = f"bench.fanout.{ctx.run_id}.{len(daphne_pids)}"
        # The per-user loop sends as many at a time as live.py's concurrent path.
        self.concurrency = int(getattr(settings, "NOTICES_LIVE_SEND_CONCURRENCY", 100))
        self.sent = 0
        self.payload: dict[str, Any] | None = None
        self.client_errors: dict[str, dict[str, int]] = {}

    def close(self) -> None:
        # channels_redis closes this loop's Redis connections when the loop closes.
        self.loop.close()

    def prepare(self, recipients: list[int]) -> int:
        """The ceiling's group: every channel in the recipients' user groups, i.e. every socket. How many."""
        self.user_groups = [f"user.{user_id}" for user_id in recipients]
        return self.loop.run_until_complete(self._gather_channels())

    async def _gather_channels(self) -> int:
        # Setup, not measured: read the members of the user groups as channels_redis stores them.
        layer = self.layer
        channels: list[bytes] = []
        for group in self.user_groups:
            connection = layer.connection(layer.consistent_hash(group))
            channels += await connection.zrange(layer._group_key(group), 0, -1)
        connection = layer.connection(layer.consistent_hash(self.all_group))
        key = layer._group_key(self.all_group)
        await connection.zadd(key, dict.fromkeys(channels, time.time()))
        await connection.expire(key, layer.group_expiry)
        return len(channels)

    def collect(self, notice_id: int, started: float, side: str, sender_seconds: float, cpu_before: float) -> Send:
        for client in self.clients:
            client.send(f"collect {notice_id} {ARRIVAL_TIMEOUT}")
        times: list[float] = []
        missing = 0
        for client in self.clients:
            answer = client.receive(ARRIVAL_TIMEOUT + 30)
            times += [t - started for t in answer["times"]]
            missing += answer["missing"]
            self.client_errors[client.name] = answer["errors"]
        cpu = cpu_seconds(self.daphne_pids) - cpu_before
        send = Send(side=side, sender_seconds=round(sender_seconds, 4), missing=missing)
        if times:
            send.last = round(max(times), 4)
            send.median = round(statistics.median(times), 4)
        sockets = len(times) + missing
        send.daphne_cpu_ms_per_socket = round(cpu * 1000 / sockets, 3) if sockets else None
        return send

    def ours(self, http: Any, auth: dict[str, str], community_id: int) -> Send:
        body = {"title": TITLE, "body": BODY, "kind": "announcement", "audience": {"community": community_id}}
        cpu_before = cpu_seconds(self.daphne_pids)
        started = time.monotonic()
        response = http.post("/api/v1/notices/", json=body, headers=auth)
        answered = time.monotonic() - started
        if response.status_code != 201:
            self.ctx.fail(f"POST /api/v1/notices/ answered {response.status_code}: {response.text[:300]}")
        self.payload = response.json()
        return self.collect(self.payload["id"], started, "ours", answered, cpu_before)

    def ceiling(self) -> Send:
        """One group_send of the notice to one group holding exactly these sockets."""
        return self._bare("ceiling", lambda message: self.layer.group_send(self.all_group, message))

    def per_user(self) -> Send:
        """One group_send per recipient's user group, as many at a time as live.py's concurrent path."""
        return self._bare("per-user", self._per_user_sends)

    def _bare(self, side: str, send: Callable[[dict[str, Any]], Awaitable[None]]) -> Send:
        assert self.payload is not None, "the bare sends repeat a notice ours has sent"
        self.sent += 1
        notice_id = CEILING_ID_BASE + self.sent
        message = {"type": "notice.message", "notice": {**self.payload, "id": notice_id}}
        cpu_before = cpu_seconds(self.daphne_pids)
        started = time.monotonic()
        self.loop.run_until_complete(send(message))
        return self.collect(notice_id, started, side, time.monotonic() - started, cpu_before)

    async def _per_user_sends(self, message: dict[str, Any]) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(group: str) -> None:
            async with gate:
                await self.layer.group_send(group, message)

        await asyncio.gather(*(one(group) for group in self.user_groups))


def open_sockets(
    ctx: Any, daphnes: list[Any], tokens: list[tuple[int, str]], clients: list[ClientProcess]
) -> tuple[float, int]:
    """Starts the client processes (appended to `clients`) and waits for every socket's hello."""
    sockets = len(tokens)
    # Socket i goes to daphne i mod n: each process holds an equal share.
    targets = [(daphnes[i % len(daphnes)].ws_url, user_id, token) for i, (user_id, token) in enumerate(tokens)]
    shares = math.ceil(sockets / CLIENT_SOCKETS)
    for number in range(shares):
        clients.append(ClientProcess(ctx.workdir, f"fanout-{sockets}-client{number + 1}", targets[number::shares]))
    connected = [client.receive(CONNECT_TIMEOUT) for client in clients]
    opened = sum(answer["sockets"] for answer in connected)
    if opened != sockets:
        errors: Counter[str] = Counter()
        for answer in connected:
            errors.update(answer["errors"])
        ctx.fail(f"{opened} of {sockets} sockets opened: {dict(errors)}")
    return max(answer["seconds"] for answer in connected), sum(answer["retries"] for answer in connected)


class LogWatch:
    """Warnings, errors and tracebacks the servers write from now on (the bench runs at LOG_LEVEL=WARNING)."""

    PROBLEM = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")
    # daphne repeats this one every second until the cancelled task ends: count each task once,
    # by what it was waiting for (asgiref's sync_to_async waits on a shielded executor future).
    KILLED = re.compile(r"Application instance <Task .*?name='([^']+)'(?:.*?wait_for=<Future pending cb=\[(\S+?)\()?")

    def __init__(self, paths: list[Path]) -> None:
        self.offsets = {path: path.stat().st_size if path.exists() else 0 for path in paths}
        self.killed: set[tuple[Path, str]] = set()

    def problems(self) -> Counter[str]:
        """What was written since the last call, counted by message (without time stamps and ids)."""
        found: Counter[str] = Counter()
        for path, offset in self.offsets.items():
            with path.open("rb") as log:
                log.seek(offset)
                in_traceback = False
                for raw in log:
                    line = raw.decode(errors="replace").rstrip()
                    if line.startswith("Traceback"):
                        in_traceback = True
                    elif in_traceback and line and not line[0].isspace() and not line.endswith(":"):
                        # The exception itself, the first unindented line after the frames.
                        found[f"exception: {line[:120]}"] += 1
                        in_traceback = False
                    elif self.PROBLEM.match(line):
                        self.count(found, path, line.split(" ", 2)[2])
                self.offsets[path] = log.tell()
        return found

    def count(self, found: Counter[str], path: Path, text: str) -> None:
        if killed := self.KILLED.search(text):
            if (path, killed.group(1)) not in self.killed:
                self.killed.add((path, killed.group(1)))
                found[f"consumer killed 10 s after its socket closed, waiting on {killed.group(2) or '?'}"] += 1
            return
        # Ids vary from line to line (users, groups): one key per kind of message.
        found[re.sub(r"\d+", "N", text)[:120]] += 1


def run_scenario(ctx: Any, processes: int, community: Any, residents: list[Any], poster_token: str) -> ScenarioResult:
    from rest_framework_simplejwt.tokens import AccessToken

    from backend.notices.models import NoticeReceipt

    sockets = len(residents)
    tokens = [(user.pk, str(AccessToken.for_user(user))) for user in residents]
    auth = {"Authorization": f"Bearer {poster_token}"}
    clients: list[ClientProcess] = []
    fanout: Fanout | None = None
    with ctx.daphnes(processes) as daphnes, ctx.client() as http:
        pids = [daphne.pid for daphne in daphnes]
        logs = LogWatch([daphne.log_path for daphne in daphnes] + ([ctx.api_log] if ctx.api_log else []))
        try:
            for daphne in daphnes:
                warm_up_socket(daphne.ws_url, tokens[0][1])
            time.sleep(SETTLE)
            rss_before = sum(rss_bytes(pid) for pid in pids)
            connect_seconds, retries = open_sockets(ctx, daphnes, tokens, clients)
            time.sleep(SETTLE)
            rss_after = sum(rss_bytes(pid) for pid in pids)
            fanout = Fanout(ctx, clients, pids)
            # The first notice, not measured, also says whom ours sends to: the ceiling sends to them.
            sends = [fanout.ours(http, auth, community.pk)]
            receipts = NoticeReceipt.objects.filter(notice_id=fanout.payload["id"])
            recipients = sorted(receipts.values_list("user_id", flat=True))
            if len(recipients) < sockets:
                ctx.fail(f"the notice has {len(recipients)} receipts for {sockets} residents")
            channels = fanout.prepare(recipients)
            if channels != sockets:
                ctx.fail(f"the recipients' groups hold {channels} channels for {sockets} open sockets")
            sends.append(fanout.ceiling())
            warm_ups = len(sends)
            for _ in range(ROUNDS):
                for side in ("ceiling", "ours"):
                    time.sleep(SETTLE)
                    sends.append(fanout.ceiling() if side == "ceiling" else fanout.ours(http, auth, community.pk))
            time.sleep(SETTLE)
            sends.append(fanout.per_user())
            problems = logs.problems()
            # Every socket closes at once, as when a network or a deploy drops them all, and the
            # servers' logs are read again before they stop.
            for client in clients:
                client.stop()
            time.sleep(CLOSE_GRACE)
            closing = logs.problems()
        finally:
            if fanout is not None:
                fanout.close()
            for client in clients:
                client.stop()
    errors: Counter[str] = Counter()
    for client_errors in fanout.client_errors.values():
        errors.update(client_errors)
    for send in sends:
        if send.missing and send.side != "per-user":  # a reference only: its misses are shown, not failed
            errors[f"{send.side}: notice missing on a socket"] += send.missing
    errors.update(problems)
    return ScenarioResult(
        sockets=sockets,
        processes=processes,
        recipients=len(fanout.user_groups),
        connect_seconds=connect_seconds,
        connect_retries=retries,
        mem_kib_per_conn=round((rss_after - rss_before) / sockets / 1024, 1),
        errors=dict(errors),
        at_close=dict(closing),
        sends=sends[warm_ups:],
    )


def summary(result: ScenarioResult) -> str:
    """`fanout.N: ours X s (last), ceiling Y s, ratio R, median …`: the best round of each side."""

    def best(side: str) -> Send:
        return min((send for send in result.sends if send.side == side), key=lambda send: send.last)

    def middle(side: str) -> float:
        return statistics.median(send.last for send in result.sends if send.side == side)

    ours, ceiling, per_user = best("ours"), best("ceiling"), best("per-user")
    cpu = ""
    if ours.daphne_cpu_ms_per_socket is not None and ceiling.daphne_cpu_ms_per_socket is not None:
        cpu = f"daphne cpu {ours.daphne_cpu_ms_per_socket:.2f} vs {ceiling.daphne_cpu_ms_per_socket:.2f} ms/socket, "
    servers = f"{result.processes} daphne" + ("s" if result.processes > 1 else "")
    errors = sum(result.errors.values())
    closing = f"; {sum(result.at_close.values())} server warnings as all closed" if result.at_close else ""
    return (
        f"fanout.{result.sockets}: ours {ours.last:.2f} s (last), ceiling {ceiling.last:.2f} s, "
        f"ratio {ours.last / ceiling.last:.2f}, median {ours.median:.2f} vs {ceiling.median:.2f} s, "
        f"mem {result.mem_kib_per_conn:.1f} KiB/conn, errors {errors}, "
        f"POST answered in {ours.sender_seconds:.2f} s, {cpu}"
        f"one group_send per user {per_user.last:.2f} s (median {per_user.median:.2f} s, once"
        f"{f', missed {per_user.missing} sockets' if per_user.missing else ''}), "
        f"{result.sockets} sockets on {servers} (opened in {result.connect_seconds:.0f} s"
        f"{closing}), "
        f"best of {ROUNDS} (the middle rounds: ours {middle('ours'):.2f} s, ceiling {middle('ceiling'):.2f} s)"
    )


def run(ctx: Any) -> list[str]:
    scenarios = parse_scenarios(SCENARIOS)
    # The daphne processes started below inherit it: each holds its share of sockets plus Redis connections.
    raise_open_files(max(sockets // processes for sockets, processes in scenarios) + 2048)
    (poster, password), places = seed(ctx.run_id, [sockets for sockets, _processes in scenarios])
    poster_token = ctx.jwt(poster.phone, password)
    lines: list[str] = []
    failed: list[str] = []
    for (sockets, processes), (community, residents) in zip(scenarios, places, strict=True):
        result = run_scenario(ctx, processes, community, residents, poster_token)
        ctx.results[f"fanout.{sockets}"] = result
        lines.append(summary(result))
        if result.errors:
            failed.append(f"fanout.{sockets}: {result.errors}")
    if failed:
        ctx.fail("; ".join(failed) + "\n" + "\n".join(lines))
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] != ["client"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.fanout client CONFIG (the benchmark itself runs from python -m bench)")
    client(sys.argv[2])
