"""`manage.py check --deploy` is clean with production settings (DEBUG off, no TESTING)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
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


COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::?[?-](?P<rest>[^}]*))?\}")


def filled_env_example() -> dict[str, str]:
    """deploy/env.example as an operator fills it in: its values, and real-looking secrets where it leaves blanks."""
    text = (ROOT / "deploy" / "env.example").read_text()
    made = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
        "ID_HASH_KEY": lambda: secrets.token_urlsafe(32),
        "WECHAT_APPID": lambda: "wx" + secrets.token_hex(8),
        # The example the file gives in its comment, on one line as .env holds it.
        "WECHAT_SUBSCRIBE_TEMPLATES": lambda: re.search(r"^# WECHAT_SUBSCRIBE_TEMPLATES='(.+)'$", text, re.M)[1],
    }
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        values[name] = value or made.get(name, lambda: secrets.token_hex(16))()
    return values


def compose_environment(dotenv: dict[str, str]) -> dict[str, str]:
    """x-env of compose.yaml with ${…} interpolated from the .env, as docker compose would."""
    x_env = yaml.safe_load((ROOT / "compose.yaml").read_text())["x-env"]

    def interpolate(value: object) -> str:
        def one(match: re.Match) -> str:
            name = match["name"]
            assert name in dotenv or match["rest"] is not None, f"compose.yaml needs {name}, env.example lacks it"
            return dotenv.get(name, match["rest"] or "")

        return COMPOSE_VARIABLE.sub(one, str(value))

    return {name: interpolate(value) for name, value in x_env.items()}


def compose_production_env(tmp_path: Path) -> dict[str, str]:
    """The environment production actually gets: compose.yaml's x-env and a filled-in deploy/env.example."""
    env = compose_environment(filled_env_example())
    # The containers' paths: nothing is written by a check, but keep it out of / anyway.
    env.update({"VAR_DIR": str(tmp_path), "STATIC_ROOT": str(tmp_path / "static"), "MEDIA_ROOT": str(tmp_path / "m")})
    env.update({key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ})
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    return env


def test_check_deploy_is_clean_with_the_compose_environment(tmp_path):
    env = compose_production_env(tmp_path)
    assert env["DEBUG"] == "0" and env["TESTING"] == "0"
    done = check_deploy(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
