"""compose.yaml, deploy/nginx.conf and the Dockerfile describe the production shape.

No Docker engine runs here, so these read the files: the services and how they scale, that every
variable settings.py reads is set for every Django service (found by parsing settings.py, so a new
setting cannot be forgotten), and that nginx routes /ws/ to daphne and answers its own errors in
the API's error format.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from gunicorn.workers.gthread import ThreadWorker

from backend.core.media import ACCEL_PREFIX

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DJANGO_SERVICES = ("migrate", "api", "ws", "worker", "scheduler")
SCALED_SERVICES = ("api", "ws", "worker")
ENV_READERS = {"os.environ.get", "os.getenv", "os.environ.setdefault", "os.environ.pop", "environ.get"}


def settings_env_vars() -> set[str]:
    """Every environment variable named in backend/settings.py, however it is read."""
    tree = ast.parse((ROOT / "backend" / "settings.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            first = node.args[0]
            if (func in ENV_READERS or func.startswith("env_")) and isinstance(first, ast.Constant):
                names.add(first.value)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) in {"os.environ", "environ"}
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def command_of(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def option(argv: list[str], name: str) -> str | None:
    """The value of `--name=value` or `--name value` in an argv."""
    for index, arg in enumerate(argv):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
    return None


# --- nginx.conf: a small reader for blocks and directives ---------------------------------------

TOKEN = re.compile(r"""\s+|#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};'"#]+)""")


class Directive:
    def __init__(self, name: str, args: list[str], block: list[Directive] | None = None) -> None:
        self.name, self.args, self.block = name, args, block

    def find(self, name: str, *args: str) -> list[Directive]:
        """Directives of this block (not nested ones) with that name, whose args start with `args`."""
        return [d for d in self.block or [] if d.name == name and d.args[: len(args)] == list(args)]

    def one(self, name: str, *args: str) -> Directive:
        found = self.find(name, *args)
        assert len(found) == 1, f"expected one `{name} {' '.join(args)}`, found {len(found)}"
        return found[0]

    def value(self, name: str) -> list[str] | None:
        found = self.find(name)
        return found[-1].args if found else None

    def headers(self) -> dict[str, str]:
        return {d.args[0].lower(): " ".join(d.args[1:]) for d in self.find("proxy_set_header")}


def parse_nginx(text: str) -> Directive:
    stack = [Directive("main", [], [])]
    words: list[str] = []
    for match in TOKEN.finditer(text):
        single, double, punct, word = match.groups()
        if punct == ";":
            stack[-1].block.append(Directive(words[0], words[1:]))
            words = []
        elif punct == "{":
            block = Directive(words[0], words[1:], [])
            stack[-1].block.append(block)
            stack.append(block)
            words = []
        elif punct == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        elif single is not None or double is not None or word is not None:
            words.append(next(w for w in (single, double, word) if w is not None))
    assert len(stack) == 1 and not words, "unbalanced braces in nginx.conf"
    return stack[0]


NGINX = parse_nginx((ROOT / "deploy" / "nginx.conf").read_text())
HTTP = NGINX.one("http")


def tls_server() -> Directive:
    servers = [s for s in HTTP.find("server") if any("ssl" in d.args for d in s.find("listen"))]
    assert len(servers) == 1
    return servers[0]


def upstream_target(location: Directive) -> tuple[str, int]:
    """The compose service and port a proxied location reaches, through its upstream block."""
    (url,) = location.one("proxy_pass").args
    name = url.removeprefix("http://").rstrip("/")
    (server,) = HTTP.one("upstream", name).find("server")
    host, port = server.args[0].rsplit(":", 1)
    return host, int(port)


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()
    return int(number) * {"ms": 0, None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


# --- compose.yaml ------------------------------------------------------------------------------


def test_the_production_services_are_all_there():
    assert set(SERVICES) >= {"postgres", "redis", "migrate", "api", "ws", "worker", "scheduler", "nginx"}
    assert SERVICES["postgres"]["image"].split(":")[1].startswith("16")
    assert SERVICES["redis"]["image"].split(":")[1].startswith("7")
    assert set(COMPOSE["volumes"]) >= {"pgdata", "static", "media"}


def test_exactly_one_scheduler_runs_the_timed_jobs():
    assert SERVICES["scheduler"]["deploy"]["replicas"] == 1
    assert command_of("scheduler")[-2:] == ["manage.py", "run_scheduler"]


@pytest.mark.parametrize("service", SCALED_SERVICES)
def test_scaled_services_can_have_any_number_of_replicas(service):
    config = SERVICES[service]
    assert "container_name" not in config
    assert "ports" not in config
    assert config.get("deploy", {}).get("replicas") is None


def test_only_nginx_publishes_ports():
    assert [name for name, config in SERVICES.items() if config.get("ports")] == ["nginx"]
    assert {str(port).split(":")[0] for port in SERVICES["nginx"]["ports"]} == {"80", "443"}


def test_settings_parser_finds_the_settings_it_must():
    found = settings_env_vars()
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "WECHAT_SECRET"} <= found


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_every_variable_settings_reads_is_set(service):
    environment = SERVICES[service]["environment"]
    missing = sorted(settings_env_vars() - set(environment))
    assert not missing, f"{service} does not set {missing}: add them to x-env in compose.yaml"


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_django_services_share_one_production_environment(service):
    environment = SERVICES[service]["environment"]
    assert environment is COMPOSE["x-env"] or environment == COMPOSE["x-env"]
    assert environment["DEBUG"] == "0"
    assert environment["TESTING"] == "0"
    assert environment["BENCH_CEILING"] == "0"
    assert environment["TRUSTED_PROXIES"] == "1"
    for secret in ("SECRET_KEY", "WECHAT_SECRET"):
        assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]*\}}", environment[secret]), f"{secret} must be required"
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?", environment["DATABASE_URL"])
    assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


@pytest.mark.parametrize("service", ("api", "ws", "worker", "scheduler"))
def test_servers_and_workers_start_after_migrate_has_finished(service):
    depends = SERVICES[service]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_migrate_is_a_one_shot_that_migrates_and_collects_static():
    command = " ".join(command_of("migrate"))
    assert "manage.py migrate --noinput" in command
    assert "manage.py collectstatic --noinput" in command
    assert command.index("migrate --noinput") < command.index("collectstatic")
    assert SERVICES["migrate"]["restart"] == "no"
    assert "static:/srv/static" in SERVICES["migrate"]["volumes"]


def test_api_is_gunicorn_on_wsgi_and_ws_is_daphne_on_asgi():
    api = command_of("api")
    assert api[:2] == ["gunicorn", "backend.wsgi:application"]
    assert int(option(api, "--workers")) >= 2
    assert int(option(api, "--threads")) >= 2
    assert "--preload" not in api  # each worker must open its own database pool
    # The threaded worker that shares a burst of connections among the processes; importable.
    worker_class = option(api, "--worker-class")
    assert worker_class == "backend.core.gunicorn_worker.BalancedThreadWorker"
    module, _, name = worker_class.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), name), ThreadWorker)
    # The image's own command, for a container started without compose, is the same server.
    assert worker_class in (ROOT / "Dockerfile").read_text()
    ws = command_of("ws")
    # daphne through backend/wsserver.py (daphne's own CLI, sending close codes instead of dropping).
    assert ws[:3] == ["python", "-m", "backend.wsserver"] and ws[-1] == "backend.asgi:application"
    assert "--proxy-headers" in ws


def test_worker_runs_the_task_database_worker():
    assert command_of("worker")[-3:] == ["manage.py", "db_worker", "--no-reload"]


def test_healthchecks():
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    for service in ("api", "ws"):
        test = SERVICES[service]["healthcheck"]["test"]
        assert test[1:3] == ["python", "deploy/healthcheck.py"]
        port = int(test[3])
        bind = option(command_of("api"), "--bind") if service == "api" else option(command_of("ws"), "--port")
        assert bind.endswith(str(port))
    assert "nginx-health" in " ".join(SERVICES["nginx"]["healthcheck"]["test"])
    plain = next(s for s in HTTP.find("server") if s.one("listen").args[0] == "80")
    assert plain.find("location", "=", "/nginx-health")


def test_redis_keeps_nothing_on_disk():
    command = SERVICES["redis"]["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"


def test_nginx_mounts_its_config_and_the_shared_volumes_read_only():
    volumes = SERVICES["nginx"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in volumes
    env = COMPOSE["x-env"]
    assert f"static:{env['STATIC_ROOT']}:ro" in volumes
    assert f"media:{env['MEDIA_ROOT']}:ro" in volumes


def test_the_image_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^RUN pip install", dockerfile, re.M)
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert all(SERVICES[service].get("build") == "." for service in DJANGO_SERVICES)
    # An allow-list: nothing enters the build context unless named, so .env (the secrets) stays out.
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    assert rules[0] == "*"
    assert not [rule for rule in rules if rule.startswith("!") and ".env" in rule]


# --- nginx.conf --------------------------------------------------------------------------------


def test_nginx_routes_ws_to_daphne_with_upgrade_headers_and_long_timeouts():
    location = tls_server().one("location", "/ws/")
    host, port = upstream_target(location)
    assert host == "ws"
    assert str(port) == option(command_of("ws"), "--port")
    headers = location.headers()
    assert headers["upgrade"] == "$http_upgrade"
    assert headers["connection"] == "$connection_upgrade"
    assert location.value("proxy_http_version") == ["1.1"]
    assert seconds(location.value("proxy_read_timeout")[0]) >= 600
    assert seconds(location.value("proxy_send_timeout")[0]) >= 600


def test_nginx_sends_everything_else_to_gunicorn():
    server = tls_server()
    host, port = upstream_target(server.one("location", "/"))
    assert host == "api"
    assert option(command_of("api"), "--bind").endswith(f":{port}")
    proxied = [loc.args[-1] for loc in server.find("location") if loc.find("proxy_pass")]
    assert sorted(proxied) == ["/", "/ws/"]


@pytest.mark.parametrize("path", ["/", "/ws/"])
def test_nginx_tells_django_the_client_address_and_scheme(path):
    headers = tls_server().one("location", path).headers()
    assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
    assert headers["x-forwarded-proto"] == "$scheme"
    assert headers["host"] == "$host"


def test_nginx_serves_static_and_media_from_the_volumes():
    server = tls_server()
    env = COMPOSE["x-env"]
    assert server.one("location", "/static/").value("alias") == [env["STATIC_ROOT"].rstrip("/") + "/"]
    # Media only after the app has checked the link: an internal location, no public /media/ alias.
    protected = server.one("location", ACCEL_PREFIX)
    assert protected.value("alias") == [env["MEDIA_ROOT"].rstrip("/") + "/"]
    assert protected.value("internal") == []
    assert not server.find("location", "/media/")
    assert env["MEDIA_ACCEL_REDIRECT"] == "1"


def test_nginx_body_limit_sits_a_little_above_the_upload_cap():
    limit = size_bytes(HTTP.value("client_max_body_size")[0])
    cap = int(COMPOSE["x-env"]["UPLOAD_MAX_BYTES"])
    assert cap < limit <= cap + 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("statuses", "code"),
    [(["413"], "file_too_large"), (["502", "503", "504"], "service_unavailable")],
)
def test_nginx_answers_its_own_errors_in_the_api_error_format(statuses, code):
    server = tls_server()
    pages = [d for d in server.find("error_page") if d.args[:-1] == statuses]
    assert len(pages) == 1, f"no error_page for {statuses}"
    target = pages[0].args[-1]
    assert target.startswith("@")
    location = server.one("location", target)
    assert location.value("default_type") == ["application/json"]
    status, body = location.value("return")
    assert status in statuses
    parsed = json.loads(body)
    assert set(parsed) == {"code", "detail"}
    assert parsed["code"] == code and parsed["detail"]
    assert "application/json" in HTTP.value("charset_types")  # Chinese detail: utf-8 declared


def test_nginx_does_not_log_query_strings():
    """Browsers authenticate sockets with ?token=…: the access log must not keep it."""
    log_format = " ".join(HTTP.one("log_format").args[1:])
    assert not re.search(r"\$(request|request_uri|args|query_string)(?![a-z_])", log_format)
    assert "$uri" in log_format
    assert HTTP.value("access_log")[1] == "main"


# --- deploy/healthcheck.py ---------------------------------------------------------------------


class _Healthz(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict[str, str]] = []

    def do_GET(self):
        type(self).seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_container_healthcheck_asks_healthz_with_an_allowed_host(status, exit_code):
    handler = type("Handler", (_Healthz,), {"status": status, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), str(server.server_address[1])],
            env={"ALLOWED_HOSTS": ".dangjian.example.org,localhost", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == exit_code
    (request,) = handler.seen
    assert request["path"] == "/healthz"
    assert request["host"] == "dangjian.example.org"
    assert request["x-forwarded-proto"] == "https"


def test_container_healthcheck_fails_when_nothing_listens():
    with ThreadingHTTPServer(("127.0.0.1", 0), _Healthz) as probe:
        port = probe.server_address[1]
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), str(port)], capture_output=True, timeout=30
    )
    assert done.returncode == 1
