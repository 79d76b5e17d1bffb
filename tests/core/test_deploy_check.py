"""`manage.py check --deploy` is clean with production settings (DEBUG off, no TESTING)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    """A production environment, not the test one: the variables settings.py needs, and no TESTING."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL") if key in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "example.org",
            "TRUSTED_PROXIES": "1",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ID_HASH_KEY": secrets.token_urlsafe(32),
            "WECHAT_APPID": "wx0123456789abcdef",
            "WECHAT_SECRET": secrets.token_hex(16),
        }
    )
    env.update(overrides)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    done = check_deploy(production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_would_catch_a_weakened_setting():
    """The clean run above means something: the same command fails once HSTS is switched off."""
    done = check_deploy(production_env(SECURE_HSTS_SECONDS="0"))
    assert done.returncode != 0
    assert "security.W004" in done.stdout + done.stderr
