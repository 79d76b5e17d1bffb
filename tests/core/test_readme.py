"""The README documents every setting the code reads, and starts with the two commands."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.environ\[|env_bool|env_int|env_list)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def settings_variables() -> set[str]:
    return set(ENV_READ.findall((ROOT / "backend" / "settings.py").read_text()))


def test_every_setting_is_documented():
    readme = (ROOT / "README.md").read_text()
    variables = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "WECHAT_API_BASE"} <= variables
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert not missing, f"settings read but not documented in README: {missing}"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
