"""The fake WeChat server lives in devtools/: usable from a checkout, never shipped."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from setuptools import find_packages

from devtools.fake_wechat import FakeWeChat

ROOT = Path(__file__).resolve().parents[2]


def test_devtools_is_not_a_package_setuptools_installs():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    found = find_packages(str(ROOT), include=find["include"])
    assert "backend.core" in found
    assert not [p for p in found if p.split(".")[0] in {"devtools", "tests", "bench"}]


def test_the_image_leaves_devtools_out():
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    # Everything is ignored, then only the shipped paths are let back in.
    assert ignore[ignore.index("*")] == "*"
    assert not [line for line in ignore if line.startswith("!") and "devtools" in line]
    assert "devtools" not in (ROOT / "Dockerfile").read_text()


def test_the_credentials_come_from_the_settings(settings):
    settings.WECHAT_APPID = "wx-from-settings"
    settings.WECHAT_SECRET = "secret-from-settings"
    settings.WECHAT_PUSH_TOKEN = "token-from-settings"
    with FakeWeChat() as fake:
        assert (fake.appid, fake.secret, fake.push_token) == (
            "wx-from-settings",
            "secret-from-settings",
            "token-from-settings",
        )


def test_without_credentials_in_the_settings_it_refuses_to_start(settings):
    settings.WECHAT_APPID = ""
    with pytest.raises(ImproperlyConfigured, match="WECHAT_APPID"):
        FakeWeChat()


def test_the_management_command_is_registered_in_tests():
    from django.core.management import get_commands

    assert get_commands()["fake_wechat"] == "devtools"


@pytest.mark.slow
def test_python_m_devtools_fake_wechat_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "devtools.fake_wechat", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--push-url" in result.stdout
