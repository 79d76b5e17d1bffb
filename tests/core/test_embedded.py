"""`make run`'s shape: one daphne with the task worker inside (backend/core/embedded.py), SQLite,
the in-memory channel layer, the database task backend (deferred sends really wait).

A burst of ten check-ins within two seconds: a staff socket watching the activity must see the
count reach ten. The same burst against the old shape (daphne plus a separate db_worker) is the
control: the trailing send goes out from the worker's own memory and the count stays behind.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.core.embedded_world import BURST
from tests.notices.test_socket_live import bearer, manage, receive, server_env, stop, wait_for_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def port_in_range() -> int:
    """A free TCP port among 8700-8799, the range these tests may listen on."""
    for port in range(8700, 8800):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8700-8799")


class Server:
    """Processes serving one SQLite file as `make run` (or, for the control, as it used to)."""

    def __init__(self, env: dict[str, str], folder: Path, *, embedded: bool) -> None:
        self.port = port_in_range()
        self.log = folder / f"server-{self.port}.log"
        serve = ["-b", "127.0.0.1", "-p", str(self.port), "backend.asgi:application"]
        commands = (
            [[sys.executable, "-m", "backend.core.embedded", *serve]]
            if embedded
            else [[sys.executable, "-m", "daphne", *serve], [sys.executable, "manage.py", "db_worker", "--no-reload"]]
        )
        self.processes: list[subprocess.Popen] = []
        with self.log.open("ab") as out:
            for command in commands:
                self.processes.append(
                    subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        try:
            wait_for_port(self.port, self.processes[0], self.log)
        except BaseException:
            self.stop()
            raise

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notices/"

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


def make_run_env(folder: Path) -> dict[str, str]:
    # As scripts/run.sh: DEBUG on, the real (database) task backend, no Redis.
    return server_env(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", VAR_DIR=str(folder), TESTING="0", DEBUG="1")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded")
    env = make_run_env(folder)
    manage(env, "migrate", "--noinput")
    out = manage(env, "shell", "-c", "from tests.core.embedded_world import build; build()")
    return {**json.loads(out.strip().splitlines()[-1]), "env": env, "folder": folder}


async def burst_and_watch(server: Server, world: dict, activity_id: int, *, within: float) -> list[int]:
    """Ten check-ins within two seconds; the counts a watching staff socket saw until `within` s after."""
    seen: list[int] = []
    async with connect(server.ws, additional_headers=bearer(world["secretary_token"])) as ws:
        assert (await receive(ws))["type"] == "hello"
        await ws.send(json.dumps({"type": "watch", "activity_id": activity_id}))
        assert (await receive(ws))["type"] == "watching"
        async with httpx.AsyncClient(base_url=server.http, timeout=20) as http:
            code = await http.get(
                f"/api/v1/activities/{activity_id}/checkin-code/", headers=bearer(world["secretary_token"])
            )
            assert code.status_code == 200, code.text
            latitude, longitude = world["venue"]

            async def check_in(index: int, token: str) -> int:
                await asyncio.sleep(index * 0.15)  # spread over 1.5 s, as a queue at the door
                response = await http.post(
                    f"/api/v1/activities/{activity_id}/check-in/",
                    json={
                        "client_id": str(uuid.uuid4()),
                        "token": code.json()["token"],
                        "latitude": latitude,
                        "longitude": longitude,
                        "accuracy": 10,
                    },
                    headers=bearer(token),
                )
                return response.status_code

            started = time.monotonic()
            statuses = await asyncio.gather(*(check_in(i, t) for i, t in enumerate(world["member_tokens"])))
            assert statuses == [201] * BURST
            assert time.monotonic() - started < 2.5
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and (not seen or seen[-1] < BURST):
            try:
                message = await receive(ws, timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            if message.get("type") == "event" and message.get("event") == "attendance.changed":
                seen.append(message["data"]["checked_in"])
    return seen


async def test_under_make_run_the_count_follows_a_burst(world):
    server = Server(world["env"], world["folder"], embedded=True)
    try:
        seen = await burst_and_watch(server, world, world["activity_ids"][0], within=5)
    finally:
        server.stop()
    assert seen and seen[-1] == BURST, (seen, server.log.read_text(errors="replace")[-3000:])
    assert seen == sorted(seen)
    # About one send a second, not one per check-in.
    assert len(seen) < BURST


async def test_the_control_a_separate_worker_leaves_the_count_behind(world):
    server = Server(world["env"], world["folder"], embedded=False)
    try:
        seen = await burst_and_watch(server, world, world["activity_ids"][1], within=5)
    finally:
        server.stop()
    assert seen, "the leading send still leaves from daphne itself"
    assert seen[-1] < BURST, seen
