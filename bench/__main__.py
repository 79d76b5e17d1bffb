"""`make bench`: the production shape on loopback, each benchmark beside the stack's ceiling.

Starts, on ports of its own: a fresh PostgreSQL database on the local server, the local Redis
under a database number and key prefixes of its own, gunicorn (WSGI, as the `api` service runs
it) and daphne (ASGI, as `ws`), both with DEBUG off and the ceiling endpoints mounted. Then runs
every module in bench/ (each exposes `run(ctx) -> list[str]`), prints their summary lines, and
stops and removes everything it started, also on Ctrl-C or failure.

    python -m bench                 every benchmark
    python -m bench api_basics      only those named

Load comes from another process on 127.0.0.1: wrk when it is installed, otherwise
`python -m bench.load`. Ours and the ceiling alternate for BENCH_ROUNDS rounds (2) of
BENCH_REQUESTS requests (1000, bench.load) or BENCH_SECONDS seconds (5, wrk) each, with
BENCH_CONCURRENCY connections (8). Servers: BENCH_PG_ADMIN_URL, BENCH_REDIS_URL.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet

from .processes import Server, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
PY = sys.executable
# Modules of bench/ that are part of the harness, not benchmarks.
SUPPORT_MODULES = {"__main__", "load", "processes"}

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# Per round and side: requests for bench.load, seconds for wrk.
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TIME_CAP = 20.0  # seconds: no measured run lasts longer, whatever the machine is doing
# The same shape as one `api` replica in compose.yaml.
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
WORKER_CLASS = "backend.core.gunicorn_worker.BalancedThreadWorker"  # as compose.yaml's


def say(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


class BenchFailure(Exception):
    """A benchmark whose requests failed measures nothing: report it and exit non-zero."""


@dataclass
class LoadResult:
    tool: str
    requests: int
    ok: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    cpu_ms: float | None = None  # server CPU per request: the HTTP server and its PostgreSQL backends

    @property
    def failed(self) -> int:
        return self.requests - self.ok + sum(self.errors.values())


def lua_string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32:
            out.append(f"\\{ord(char):03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


WRK_SCRIPT = """
local method = {method}
local path = {path}
local template = {body}
local prefix = {prefix}
local headers = {{{headers}}}
local counter = 0
local fixed = nil
threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

function init(args)
  if template == nil then
    fixed = wrk.format(method, path, headers, nil)
  end
end

function request()
  if fixed then
    return fixed
  end
  counter = counter + 1
  local body = template:gsub("{{n}}", prefix .. "-" .. tid .. "-" .. counter)
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"wrk": 1, "requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"timeouts": %d, "p50_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99))))
end
"""


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3… of /proc/PID/stat (after the command name, which may hold spaces)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data[data.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _proc_stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        tree += frontier
    return tree


class CpuMeter:
    """CPU seconds used so far by one server's processes and the PostgreSQL backends of the bench database.

    On a machine shared with other work, CPU per request moves much less than requests per second:
    waiting for a core does not count. Redis is a shared server and is left out. Linux only.
    """

    def __init__(self, root_pid: int, database: str) -> None:
        self.root_pid = root_pid
        self.database = database
        self.enabled = Path("/proc/self/stat").exists() and urlsplit(PG_ADMIN_URL).hostname in {
            "127.0.0.1",
            "localhost",
        }

    def __call__(self) -> float | None:
        if not self.enabled:
            return None
        import psycopg

        pids = process_tree(self.root_pid)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)).fetchall()
        pids += [pid for (pid,) in rows]
        total = 0
        for pid in pids:
            if fields := _proc_stat(pid):
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / CLOCK_TICKS


@dataclass(frozen=True)
class Target:
    """One request to load a server with; `{n}` in the body is made unique per request."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class Daphne:
    """A daphne process started for one benchmark by `ctx.daphnes(n)`."""

    url: str  # http://127.0.0.1:PORT
    ws_url: str  # ws://127.0.0.1:PORT
    pid: int  # for /proc/PID (memory, CPU)
    log_path: Path  # its output: warnings and errors of the application, daphne's own


@dataclass
class Context:
    """What a benchmark gets: where the servers are, their environment, and the load helpers.

    `ctx.Target(url, method=, headers=, body=)` describes a request; `ctx.versus(name, ours=,
    ceiling=)` measures two and returns the summary line; `ctx.jwt(phone, password)` signs in a
    seeded user; `ctx.expect(...)` checks one answer before loading; `with ctx.daphnes(n) as
    servers:` runs n daphne processes of the benchmark's own, stopped when the block ends.
    """

    Target = Target

    api_url: str  # gunicorn: the HTTP API, as nginx reaches the `api` service
    asgi_url: str  # daphne over HTTP (the same ASGI application that serves /ws/)
    ws_url: str  # daphne's WebSocket root, e.g. ws://127.0.0.1:PORT
    env: dict[str, str]
    run_id: str
    workdir: Path
    wrk: str | None
    cpu: Callable[[], float | None] = lambda: None
    results: dict[str, LoadResult] = field(default_factory=dict)
    api_log: Path | None = None  # gunicorn's output (the application's warnings and errors)

    @staticmethod
    def fail(message: str) -> None:
        raise BenchFailure(message)

    @contextlib.contextmanager
    def daphnes(self, count: int) -> Iterator[list[Daphne]]:
        """`count` daphne processes like the harness's own, on free ports, stopped however the block ends.

        For benchmarks that spread sockets over several processes or read a server's memory: the
        harness's daphne keeps serving the other benchmarks, untouched.
        """
        started: list[tuple[Server, int]] = []
        try:
            for _ in range(count):
                port = free_port()
                argv = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backend.asgi:application"]
                started.append((Server(f"daphne:{port}", argv, self.env, self.workdir / f"daphne-{port}.log"), port))
                started[-1][0].start()
            for server, port in started:
                wait_healthy(server, f"http://127.0.0.1:{port}")
            yield [
                Daphne(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", server.process.pid, server.log_path)
                for server, port in started
            ]
        finally:
            for server, _port in reversed(started):
                server.stop()

    def client(self, base_url: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=base_url or self.api_url, timeout=30, headers={"Accept": "application/json"})

    def jwt(self, phone: str, password: str) -> str:
        """An access token from the real login endpoint, for a user the benchmark seeded."""
        with self.client() as client:
            response = client.post("/api/v1/auth/jwt/create/", json={"phone": phone, "password": password})
        if response.status_code != 200:
            raise BenchFailure(f"login as {phone} answered {response.status_code}: {response.text[:300]}")
        return response.json()["access"]

    def expect(
        self, method: str, url: str, status: int, *, headers: dict | None = None, json_body: object = None
    ) -> httpx.Response:
        """One request before the load: a wrong status here would make every figure meaningless."""
        with self.client() as client:
            response = client.request(method, url, headers=headers, json=json_body)
        if response.status_code != status:
            raise BenchFailure(
                f"{method} {url} answered {response.status_code}, expected {status}: {response.text[:300]}"
            )
        return response

    def load(self, name: str, target: Target, *, requests: int | None = None, warm_up: bool = True) -> LoadResult:
        """Measure one target (after a short warm-up). In its body, `{n}` becomes a value unique to each request."""
        requests = requests or REQUESTS
        headers = {"Accept": "application/json", **target.headers}
        if target.body is not None:
            headers.setdefault("Content-Type", "application/json")
        run = self._wrk if self.wrk else self._python
        args = (target.url, target.method, headers, target.body)
        serial = len(self.results)
        if warm_up:
            run(*args, f"{self.run_id}w{serial}", max(50, requests // 10), CONCURRENCY, 2)
        cpu_before = self.cpu()
        result = run(*args, f"{self.run_id}m{serial}", requests, CONCURRENCY, SECONDS)
        cpu_after = self.cpu()
        if cpu_before is not None and cpu_after is not None and result.requests:
            result.cpu_ms = round((cpu_after - cpu_before) * 1000 / result.requests, 3)
        self.results[name] = result
        if result.failed or result.requests == 0:
            raise BenchFailure(
                f"{name}: {result.failed} of {result.requests} requests failed "
                f"(statuses {result.statuses}, errors {result.errors})"
            )
        return result

    def versus(self, name: str, *, ours: Target, ceiling: Target, rounds: int | None = None) -> str:
        """Ours against the ceiling in alternating rounds; the best round of each side is reported.

        Alternating spreads a burst of load from elsewhere on the machine over both sides, and the
        best round is the one least disturbed by it.
        """
        rounds = rounds or ROUNDS
        runs: dict[str, list[LoadResult]] = {"ceiling": [], "ours": []}
        for index in range(rounds):
            for side, target in (("ceiling", ceiling), ("ours", ours)):
                runs[side].append(self.load(f"{name}.{side}.{index + 1}", target, warm_up=index == 0))
        best = {}
        for side, results in runs.items():
            cpu = [r.cpu_ms for r in results if r.cpu_ms is not None]
            best[side] = replace(max(results, key=lambda r: r.rps), cpu_ms=min(cpu) if cpu else None)
        return self.compare(name, best["ours"], best["ceiling"]) + (f", best of {rounds}" if rounds > 1 else "")

    def _python(self, url, method, headers, body, prefix, requests, concurrency, _seconds) -> LoadResult:
        argv = [PY, "-m", "bench.load", url, "--method", method, "--prefix", prefix]
        argv += ["--requests", str(requests), "--concurrency", str(concurrency), "--time-cap", str(TIME_CAP)]
        for key, value in headers.items():
            argv += ["--header", f"{key}: {value}"]
        if body is not None:
            argv += ["--body", body]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=TIME_CAP + 30, check=False)
        if done.returncode != 0:
            raise BenchFailure(f"bench.load failed: {done.stderr.strip()[-500:]}")
        data = json.loads(done.stdout)
        data.pop("tool")
        return LoadResult(tool=f"bench.load c={concurrency}", **data)

    def _wrk(self, url, method, headers, body, prefix, _requests, concurrency, seconds) -> LoadResult:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        script = self.workdir / f"{prefix}.lua"
        script.write_text(
            WRK_SCRIPT.format(
                method=lua_string(method),
                path=lua_string(path),
                body="nil" if body is None else lua_string(body),
                prefix=lua_string(prefix),
                headers=", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()),
            )
        )
        argv = [self.wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith('{"wrk"')), None)
        if done.returncode != 0 or line is None:
            raise BenchFailure(f"wrk failed: {(done.stderr or done.stdout).strip()[-500:]}")
        data = json.loads(line)
        seconds_run = data["duration_us"] / 1e6
        errors = {"socket": data["socket_errors"], "timeout": data["timeouts"]}
        return LoadResult(
            tool=f"wrk c={concurrency}",
            requests=data["requests"],
            ok=data["requests"] - data["status_errors"],
            seconds=round(seconds_run, 3),
            rps=round(data["requests"] / seconds_run, 1) if seconds_run else 0.0,
            p50_ms=round(data["p50_us"] / 1000, 2),
            p99_ms=round(data["p99_us"] / 1000, 2),
            statuses={"<400": data["requests"] - data["status_errors"], ">=400": data["status_errors"]},
            errors={k: v for k, v in errors.items() if v},
        )

    @staticmethod
    def compare(name: str, ours: LoadResult, ceiling: LoadResult) -> str:
        """The summary line: throughput side by side, ratio = ours / ceiling, then CPU and latencies.

        The CPU ratio is ceiling / ours CPU per request: on the same scale as the throughput ratio
        (what ours would reach if the server's CPU were the only limit), and steadier on a busy machine.
        """
        ratio = ours.rps / ceiling.rps if ceiling.rps else float("nan")
        capped = " (time cap hit)" if ours.timed_out or ceiling.timed_out else ""
        cpu = ""
        if ours.cpu_ms and ceiling.cpu_ms:
            cpu = f"cpu {ours.cpu_ms:.2f} vs {ceiling.cpu_ms:.2f} ms/req (ratio {ceiling.cpu_ms / ours.cpu_ms:.2f}), "
        return (
            f"{name}: ours {ours.rps:.0f} req/s, ceiling {ceiling.rps:.0f} req/s, ratio {ratio:.2f}, {cpu}"
            f"p50 {ours.p50_ms:.1f} vs {ceiling.p50_ms:.1f} ms, p99 {ours.p99_ms:.1f} vs {ceiling.p99_ms:.1f} ms, "
            f"{ours.requests}+{ceiling.requests} requests, {ours.tool}{capped}"
        )


def discover(selected: list[str]) -> list[str]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(BENCH_DIR)])
        if not info.ispkg and info.name not in SUPPORT_MODULES
    )
    unknown = sorted(set(selected) - set(names))
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(names)})")
    return [name for name in names if not selected or name in selected]


@contextlib.contextmanager
def bench_database(run_id: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"bench_{run_id}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise SystemExit(f"PostgreSQL at {PG_ADMIN_URL} is needed for the benchmarks: {exc}") from exc
    admin = urlsplit(PG_ADMIN_URL)
    say(f"database {name}")
    try:
        yield admin._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            # FORCE: a server that did not stop in time must not leave the database behind.
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        say(f"dropped database {name}")


@contextlib.contextmanager
def bench_redis(prefix: str) -> Iterator[None]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis at {REDIS_URL} is needed for the benchmarks: {exc}") from exc
    try:
        yield
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def server_env(*, database_url: str, prefix: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",  # no TLS on loopback; the rest of the hardening stays on
            "TRUSTED_PROXIES": "0",  # no proxy in front here
            "BENCH_CEILING": "1",
            "DATABASE_URL": database_url,
            "DB_POOL_MIN_SIZE": "2",
            "DB_POOL_MAX_SIZE": str(GUNICORN_THREADS + 2),
            "REDIS_URL": REDIS_URL,
            "CHANNEL_PREFIX": f"{prefix}-layer",
            "CACHE_PREFIX": f"{prefix}-cache",
            # One client sends every request: production's per-user rates would turn the run into
            # 429s. The throttles still count every request in Redis (one INCR), as in production.
            "THROTTLE_USER": "100000/s",
            "THROTTLE_ANON": "100000/s",
            "VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "SERVE_STATIC": "0",  # as in production: nginx serves static files
            "MEDIA_ROOT": str(workdir / "media"),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def wait_healthy(server: Server, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not server.alive():
            raise SystemExit(f"{server.name} exited while starting:\n{server.log_tail()}")
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.3)
    raise SystemExit(f"{server.name} not healthy after {timeout:.0f} s ({last}):\n{server.log_tail()}")


def setup_django(env: dict[str, str]) -> None:
    """The benchmarks seed rows through the ORM, in this process, against the bench database."""
    os.environ.update(env)
    os.environ.pop("TESTING", None)
    import django

    django.setup()


def close_django() -> None:
    if "django.db" not in sys.modules:
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()
        close_pool: Callable[[], None] | None = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()


def run_benchmarks(ctx: Context, names: list[str]) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    failures: list[str] = []
    for name in names:
        say(f"running {name}")
        started = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            module_lines = module.run(ctx)
        except BenchFailure as exc:
            failures.append(f"{name}: FAILED: {exc}")
            print(failures[-1], flush=True)
            continue
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            failures.append(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            print(failures[-1], flush=True)
            continue
        for line in module_lines:
            print(line, flush=True)
        lines += module_lines
        say(f"{name} took {time.monotonic() - started:.0f} s")
    return lines, failures


def write_results(ctx: Context, lines: list[str], failures: list[str]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "date": stamp,
                "cpus": os.cpu_count(),
                "load_average_after": os.getloadavg(),
                "load_tool": "wrk" if ctx.wrk else "bench.load",
                "lines": lines,
                "failures": failures,
                "results": {name: asdict(result) for name, result in ctx.results.items()},
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return path


def main(argv: list[str]) -> int:
    names = discover(argv)
    run_id = secrets.token_hex(4)
    prefix = f"bench-{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    servers: list[Server] = []
    # Ctrl-C and a plain `kill` both clean up; SIGINT explicitly, since a shell that starts us in
    # the background leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wrk = shutil.which("wrk")
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    say(f"run {run_id}; load from {'wrk' if wrk else 'python -m bench.load (wrk not installed)'}")
    say(f"{os.cpu_count()} CPUs, load average {load_average} before starting")
    # On stdout with the figures: how busy the machine was says how far to trust them.
    print(f"load average {load_average} (1, 5, 15 min) at the start, {os.cpu_count()} CPUs", flush=True)
    try:
        with bench_database(run_id) as database_url, bench_redis(prefix):
            env = server_env(database_url=database_url, prefix=prefix, workdir=workdir)
            started = time.monotonic()
            manage(env, "migrate", "--noinput")
            manage(env, "collectstatic", "--noinput")
            say(f"migrate, collectstatic: {time.monotonic() - started:.0f} s")
            api_port, asgi_port = free_port(), free_port()
            gunicorn = Server(
                "gunicorn",
                [
                    *(PY, "-m", "gunicorn", "backend.wsgi:application", "--bind", f"127.0.0.1:{api_port}"),
                    *("--workers", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS)),
                    *("--worker-class", WORKER_CLASS, "--keep-alive", "5", "--timeout", "30", "--log-level", "warning"),
                ],
                env,
                workdir / "gunicorn.log",
            )
            daphne = Server(
                "daphne",
                [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(asgi_port), "backend.asgi:application"],
                env,
                workdir / "daphne.log",
            )
            try:
                for server in (gunicorn, daphne):
                    servers.append(server)
                    server.start()
                api_url, asgi_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{asgi_port}"
                wait_healthy(gunicorn, api_url)
                wait_healthy(daphne, asgi_url)
                say(f"gunicorn {api_url} ({GUNICORN_WORKERS}×{GUNICORN_THREADS} threads), daphne {asgi_url}")
                setup_django(env)
                ctx = Context(
                    api_url=api_url,
                    asgi_url=asgi_url,
                    ws_url=f"ws://127.0.0.1:{asgi_port}",
                    env=env,
                    run_id=run_id,
                    workdir=workdir,
                    wrk=wrk,
                    cpu=CpuMeter(gunicorn.process.pid, urlsplit(database_url).path.lstrip("/")),
                    api_log=gunicorn.log_path,
                )
                lines, failures = run_benchmarks(ctx, names)
                say(f"results written to {write_results(ctx, lines, failures).relative_to(ROOT)}")
            finally:
                close_django()
                for server in reversed(servers):
                    server.stop()
                say("servers stopped")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} (1, 5, 15 min) at the end", flush=True)
    if failures:
        print(f"{len(failures)} benchmark(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted: what the run had started is stopped and removed", file=sys.stderr)
        sys.exit(130)
