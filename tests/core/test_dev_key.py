"""No development server signs with a key written in the source, nor serves DEBUG pages to a network
without being told to."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_KEY = "from django.conf import settings; import django; django.setup(); print(settings.SECRET_KEY)"


def settings_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "SECRET_KEY"}}
    env.update({"DEBUG": "1", "VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "backend.settings", **extra})
    return env


def key_of(var_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=settings_env(var_dir), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_debug_without_a_key_makes_one_per_install(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    key = key_of(first)
    assert len(key) >= 50 and key == key_of(first)  # kept: sessions and tokens survive a restart
    assert key != key_of(second)  # another install, another key
    stored = first / "secret_key"
    assert stored.read_text().strip() == key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert key not in (ROOT / "backend" / "settings.py").read_text()


def run_script(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env = settings_env(tmp_path, PORT="8399", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra)
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        # It went on to serve: stop it and everything it started.
        os.killpg(process.pid, signal.SIGTERM)
        out, err = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_make_run_refuses_debug_pages_on_a_network_address(tmp_path):
    refused = run_script(tmp_path, HOST="0.0.0.0")  # the address under test
    assert refused.returncode == 2, refused.stderr
    assert "DEBUG" in refused.stderr and "0.0.0.0" in refused.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # refused before migrating anything
