"""Check-in at an activity: a hall of phones in the same minutes, beside the stack's insert ceiling.

2,000 enrolled members each check in once to one activity, from 50 concurrent keep-alive
connections, each request as its own member (its own JWT, client_id and position near the venue)
with the code the venue's screen shows (fetched from `checkin-code` as the screen does, and again
as it rotates). Every tenth member's request is sent a second time, unchanged, a little later,
as a phone retries after a lost answer: it must get 200 and the first body. Then: every first
request 201, every retry 200, zero errors, exactly one row per member.

The ceiling is the harness's minimal insert (`POST /bench/ceiling/insert`: DRF validation with a
unique check and one INSERT, no auth, no throttle), driven by the same client with the same
number of requests and connections, in the same run.

Targets: ours / ceiling ≥ 0.6 in throughput, our p99 ≤ 2 × the ceiling's p99, and at most 5 ms of
CPU per check-in (gunicorn and its PostgreSQL backends together, as every `cpu` figure here).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

MEMBERS = int(os.environ.get("BENCH_CHECKIN_MEMBERS", "2000"))
CLIENTS = int(os.environ.get("BENCH_CHECKIN_CLIENTS", "50"))
RETRY_EVERY = 10
TARGET_RATIO = 0.6
TARGET_P99 = 2.0  # × the ceiling's
TARGET_CPU_MS = 5.0
RETRY_LAG = 100  # a retry goes out this many requests after its first attempt
WARM_UP = 100
TIME_CAP = 300.0
VENUE = (29.372425, 113.093627)  # 岳阳楼, GCJ-02


@dataclass
class Request:
    path: str
    headers: str  # the header block, without the final blank line
    body: bytes | None = None  # built when first sent (the code in force then), reused by a retry
    first: Request | None = None  # for a retry: the request it repeats
    status: int = 0
    answer: bytes = b""
    failed: bool = False


@dataclass
class Run:
    seconds: float
    latencies: list[float]
    statuses: Counter
    errors: Counter = field(default_factory=Counter)
    timed_out: bool = False


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values), max(1, math.ceil(len(sorted_values) * fraction)))
    return sorted_values[rank - 1]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    version, status_text = lines[0].split(b" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    body = b""
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif int(status_text) not in (204, 304):
        body = await reader.read()
        keep_alive = False
    return int(status_text), body, keep_alive


async def drive(base_url: str, requests: list[Request], make_body, *, clients: int) -> Run:
    """Send the requests in order over `clients` keep-alive connections; keep each answer."""
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("the check-in bench loads loopback only")
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    position = 0

    async def connection() -> None:
        nonlocal position
        reader = writer = None
        while position < len(requests):
            request = requests[position]
            position += 1
            if request.first is not None:
                # A retry repeats its first attempt byte for byte, after that one's answer was lost.
                while request.first.status == 0 and not request.first.failed:
                    await asyncio.sleep(0.005)
                request.body = request.first.body
            elif request.body is None:
                request.body = make_body(request)
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                started = time.perf_counter()
                writer.write(
                    f"POST {request.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{request.headers}\r\n"
                    f"Content-Length: {len(request.body)}\r\n\r\n".encode()
                    + request.body
                )
                request.status, request.answer, keep_alive = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[request.status] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                request.failed = True
                keep_alive = False
            if not keep_alive and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(connection()) for _ in range(clients)]
    _done, pending = await asyncio.wait(tasks, timeout=TIME_CAP)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    latencies.sort()
    return Run(time.perf_counter() - started, latencies, statuses, errors, bool(pending))


class Screen:
    """The venue's screen: fetches the current code and again before it rotates away."""

    def __init__(self, ctx, activity_id: int, staff_token: str) -> None:
        self.ctx = ctx
        self.url = f"/api/v1/activities/{activity_id}/checkin-code/"
        self.headers = {"Authorization": f"Bearer {staff_token}"}
        self.token = ""
        self.stop = threading.Event()
        self.refresh()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def refresh(self) -> float:
        code = self.ctx.expect("GET", self.url, 200, headers=self.headers).json()
        self.token = code["token"]
        return float(code["period_seconds"])

    def loop(self) -> None:
        period = self.refresh()
        while not self.stop.wait(period / 3):
            self.refresh()

    def __enter__(self) -> Screen:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def seed(run_id: str):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from backend.accounts.models import Role, RoleGrant, User
    from backend.activities.models import Activity, Enrollment
    from backend.communities.models import Community, Street

    street = Street.objects.create(name=f"签到基准街道{run_id}", city="岳阳市岳阳楼区")
    community = Community.objects.create(street=street, name="签到基准社区")
    password = uuid.uuid4().hex
    staff = User.objects.create_user(phone="13900000099", password=password, real_name="签到基准书记")
    RoleGrant.objects.create(user=staff, role=Role.COMMUNITY_SECRETARY, community=community)
    now = timezone.now()

    def activity(title: str) -> Activity:
        return Activity.objects.create(
            community=community,
            organiser=staff,
            title=title,
            category=Activity.Category.PARTY_DAY,
            starts_at=now + timedelta(minutes=10),
            ends_at=now + timedelta(hours=2),
            place="岳阳楼社区党群服务中心",
            latitude=VENUE[0],
            longitude=VENUE[1],
            radius_m=200,
            status=Activity.Status.PUBLISHED,
            published_at=now,
        )

    measured, warm = activity("签到基准活动"), activity("签到预热活动")
    unusable = make_password(None)
    users = User.objects.bulk_create(
        User(phone=f"170{i:08d}", real_name=f"党员{i}", community=community, password=unusable)
        for i in range(MEMBERS + WARM_UP)
    )
    Enrollment.objects.bulk_create(
        Enrollment(activity=measured if i < MEMBERS else warm, user=user, status=Enrollment.Status.ENROLLED)
        for i, user in enumerate(users)
    )
    tokens = [str(AccessToken.for_user(user)) for user in users]
    return staff.phone, password, measured, warm, tokens


def check_in_requests(activity_id: int, tokens: list[str], *, retries: bool) -> list[Request]:
    path = f"/api/v1/activities/{activity_id}/check-in/"
    requests: list[Request] = []
    firsts: list[Request] = []
    for index, jwt in enumerate(tokens):
        first = Request(
            path, f"Authorization: Bearer {jwt}\r\nContent-Type: application/json\r\nAccept: application/json"
        )
        requests.append(first)
        firsts.append(first)
        if retries and index >= RETRY_LAG and (index - RETRY_LAG) % RETRY_EVERY == 0:
            original = firsts[index - RETRY_LAG]
            requests.append(Request(path, original.headers, first=original))
    if retries:
        # The last members' retries, after everyone else.
        for original in firsts[len(firsts) - RETRY_LAG :: RETRY_EVERY]:
            requests.append(Request(path, original.headers, first=original))
    return requests


def position_body(screen: Screen, index: int) -> bytes:
    # Spread around the venue up to 150 m away (inside its 200 m), each phone claiming 10–40 m accuracy.
    metres, bearing = (index * 37) % 150, index * 2.4
    return json.dumps(
        {
            "client_id": str(uuid.uuid4()),
            "token": screen.token,
            "latitude": VENUE[0] + metres * math.cos(bearing) / 111_195.0,
            "longitude": VENUE[1] + metres * math.sin(bearing) / (111_195.0 * math.cos(math.radians(VENUE[0]))),
            "accuracy": 10 + index % 31,
        }
    ).encode()


def ceiling_requests(run_id: str, count: int) -> list[Request]:
    headers = "Content-Type: application/json\r\nAccept: application/json"
    return [
        Request("/bench/ceiling/insert", headers, json.dumps({"name": f"checkin-{run_id}-{i}", "value": 1}).encode())
        for i in range(count)
    ]


def as_result(ctx, run: Run, cpu: tuple[float | None, float | None]):
    from bench.__main__ import LoadResult

    requests = sum(run.statuses.values())
    ok = sum(n for status, n in run.statuses.items() if 200 <= status < 300)
    cpu_ms = None
    if cpu[0] is not None and cpu[1] is not None and requests:
        cpu_ms = round((cpu[1] - cpu[0]) * 1000 / requests, 3)
    return LoadResult(
        tool=f"checkin client c={CLIENTS}",
        requests=requests,
        ok=ok,
        seconds=round(run.seconds, 3),
        rps=round(requests / run.seconds, 1) if run.seconds else 0.0,
        p50_ms=round(percentile(run.latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(run.latencies, 0.99) * 1000, 2),
        statuses={str(k): v for k, v in sorted(run.statuses.items())},
        errors=dict(run.errors),
        timed_out=run.timed_out,
        cpu_ms=cpu_ms,
    )


def measure(ctx, requests: list[Request], make_body) -> tuple[Run, tuple[float | None, float | None]]:
    before = ctx.cpu()
    run = asyncio.run(drive(ctx.api_url, requests, make_body, clients=CLIENTS))
    return run, (before, ctx.cpu())


def _split(requests: list[Request]) -> list[list[Request]]:
    """Two halves, each retry in the half of its first attempt (a retry waits for that answer)."""
    firsts = [r for r in requests if r.first is None]
    first_half = {id(r) for r in firsts[: len(firsts) // 2]}

    def in_first_half(request: Request) -> bool:
        return id(request.first if request.first is not None else request) in first_half

    return [[r for r in requests if in_first_half(r)], [r for r in requests if not in_first_half(r)]]


Measured = tuple[Run, tuple[float | None, float | None]]


def _combine(
    runs: list[tuple[Run, tuple[float | None, float | None]]],
) -> tuple[Run, tuple[float | None, float | None]]:
    latencies = sorted(latency for run, _cpu in runs for latency in run.latencies)
    statuses, errors = Counter(), Counter()
    for run, _cpu in runs:
        statuses.update(run.statuses)
        errors.update(run.errors)
    cpus = [cpu for _run, cpu in runs]
    spent = None
    if all(before is not None and after is not None for before, after in cpus):
        spent = sum(after - before for before, after in cpus)
    combined = Run(
        seconds=sum(run.seconds for run, _cpu in runs),
        latencies=latencies,
        statuses=statuses,
        errors=errors,
        timed_out=any(run.timed_out for run, _cpu in runs),
    )
    return combined, ((0.0, spent) if spent is not None else (None, None))


def run(ctx) -> list[str]:
    from django.db.models import Count

    from backend.activities.models import CheckIn

    phone, password, activity, warm, tokens = seed(ctx.run_id)
    staff_token = ctx.jwt(phone, password)
    ctx.expect("POST", "/bench/ceiling/insert", 201, json_body={"name": f"checkin-{ctx.run_id}-check", "value": 1})

    with Screen(ctx, warm.pk, staff_token) as warm_screen:
        warm_up = check_in_requests(warm.pk, tokens[MEMBERS:], retries=False)
        run_warm, _cpu = measure(ctx, warm_up, lambda r: position_body(warm_screen, warm_up.index(r)))
    if run_warm.statuses != Counter({201: WARM_UP}) or run_warm.errors:
        ctx.fail(
            f"warm-up check-ins answered {dict(run_warm.statuses)} {dict(run_warm.errors)}: {warm_up[0].answer[:300]!r}"
        )
    measure(ctx, ceiling_requests(f"{ctx.run_id}w", WARM_UP), None)

    # Ours and the ceiling take turns, half the members at a time, so that a burst of other work on
    # the machine lands on both sides; each side's figures are over all of its requests.
    ours_requests = check_in_requests(activity.pk, tokens[:MEMBERS], retries=True)
    numbers = {id(r): i for i, r in enumerate(r for r in ours_requests if r.first is None)}
    half = _split(ours_requests)
    ours_runs, ceiling_runs = [], []
    with Screen(ctx, activity.pk, staff_token) as screen:
        for index, part in enumerate(half):
            ceiling_runs.append(measure(ctx, ceiling_requests(f"{ctx.run_id}-{index}", len(part)), None))
            ours_runs.append(measure(ctx, part, lambda r: position_body(screen, numbers[id(r)])))
    ours_run, ours_cpu = _combine(ours_runs)
    ceiling_run, ceiling_cpu = _combine(ceiling_runs)

    ours = as_result(ctx, ours_run, ours_cpu)
    ceiling = as_result(ctx, ceiling_run, ceiling_cpu)
    ctx.results["checkin.check_in.ours"] = ours
    ctx.results["checkin.check_in.ceiling"] = ceiling

    retries = [r for r in ours_requests if r.first is not None]
    firsts = [r for r in ours_requests if r.first is None]
    problems = []
    if ours_run.errors or ours_run.timed_out:
        problems.append(f"errors {dict(ours_run.errors)}, timed out {ours_run.timed_out}")
    if Counter(r.status for r in firsts) != Counter({201: len(firsts)}):
        bad = next(r for r in firsts if r.status != 201)
        problems.append(f"first attempts answered {dict(Counter(r.status for r in firsts))}, e.g. {bad.answer[:300]!r}")
    if Counter(r.status for r in retries) != Counter({200: len(retries)}):
        problems.append(f"retries answered {dict(Counter(r.status for r in retries))}")
    if any(json.loads(r.answer) != json.loads(r.first.answer) for r in retries if r.status == 200):
        problems.append("a retry got a body different from its first answer")
    rows = CheckIn.objects.filter(activity=activity).count()
    duplicates = (
        CheckIn.objects.filter(activity=activity).values("user_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    if rows != MEMBERS or duplicates:
        problems.append(f"{rows} rows for {MEMBERS} members, {duplicates} members with more than one")
    if ceiling_run.errors or set(ceiling_run.statuses) != {201}:
        problems.append(f"ceiling answered {dict(ceiling_run.statuses)} {dict(ceiling_run.errors)}")
    if problems:
        ctx.fail("; ".join(problems))

    return [
        ctx.compare("checkin.check_in", ours, ceiling)
        + f"; {len(firsts)} members + {len(retries)} retries, 0 errors, 0 duplicates; "
        + targets(ours, ceiling)
    ]


def targets(ours, ceiling) -> str:
    """Each target with the figure it is judged on, then whether all are met."""
    ratio = ours.rps / ceiling.rps if ceiling.rps else 0.0
    p99 = ours.p99_ms / ceiling.p99_ms if ceiling.p99_ms else float("inf")
    checks = [
        (f"ratio {ratio:.2f} ≥ {TARGET_RATIO}", ratio >= TARGET_RATIO),
        (f"p99 {p99:.2f}× ceiling's ≤ {TARGET_P99:g}×", p99 <= TARGET_P99),
    ]
    if ours.cpu_ms is not None:
        checks.append(
            (
                f"cpu {ours.cpu_ms:.2f} ms per check-in (web + database) ≤ {TARGET_CPU_MS:g}",
                ours.cpu_ms <= TARGET_CPU_MS,
            )
        )
    else:
        checks.append(("cpu per check-in not measured", False))
    met = all(ok for _text, ok in checks)
    listed = ", ".join(f"{text} {'met' if ok else 'NOT met'}" for text, ok in checks)
    return f"targets: {listed}: {'all met' if met else 'NOT all met'}"
