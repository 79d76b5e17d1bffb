"""A malformed multipart body answers 400 in the error format under a real daphne too (Twisted
used to answer it with a bare 400 before Django saw the request)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 8371
MALFORMED = (
    b"--b\r\nContent-Disposition: form-data; name=phone\r\n\r\n138\r\n"  # no closing boundary
    b'--b\r\nContent-Disposition: form-data; name="x"; filename=\r\n'
)


@pytest.fixture
def daphne(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "DATABASE_URL", "REDIS_URL"}}
    env.update({"DEBUG": "1", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "backend.settings"})
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(PORT), "backend.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.3)
    yield
    process.terminate()
    process.wait(timeout=20)


def test_a_malformed_multipart_login_is_a_400_with_an_error_body(daphne):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request(
        "POST",
        "/api/v1/auth/jwt/create/",
        body=MALFORMED,
        headers={"Content-Type": "multipart/form-data"},  # no boundary: Twisted refused it bare
    )
    response = connection.getresponse()
    body = response.read()
    assert response.status == 400, body
    assert response.getheader("Content-Type", "").startswith("application/json"), body
    # Django's parser reads what it can; whatever it cannot is the client's mistake, in our format.
    assert json.loads(body)["code"] in {"parse_error", "validation_error"}
