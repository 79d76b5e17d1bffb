"""`make lint`'s mechanical rules hold on the tree, and each fails on a deliberate breakage.

The breakages are written to a copy of backend/ in a temporary directory, never to the tree:
an upward import, an import between siblings of one layer, the shipped package importing
development code, a function nothing calls, a module or function grown past its size, and a type
error in a service.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

_spec = importlib.util.spec_from_file_location("dead_code", ROOT / "scripts" / "dead_code.py")
dead_code_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dead_code_module)

_spec = importlib.util.spec_from_file_location("sizes", ROOT / "scripts" / "sizes.py")
sizes_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sizes_module)
MYPY = Path(sys.executable).with_name("mypy")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so the copy's backend is found before the editable install's.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The project's backend/ and pyproject.toml in a temporary directory; tests/ and devtools/ linked."""
    shutil.copytree(ROOT / "backend", tmp_path / "backend", ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    (tmp_path / "devtools").symlink_to(ROOT / "devtools")
    return tmp_path


def test_the_tree_keeps_the_import_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_tree_has_no_dead_code():
    assert dead_code_module.dead_code(ROOT) == []


def test_an_unchanged_copy_passes(copy):
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers(copy):
    (copy / "backend" / "core" / "upward.py").write_text("from backend.reports import selectors  # noqa: F401\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "backend.core is not allowed to import backend.reports" in result.stdout
    assert "backend.core.upward -> backend.reports.selectors" in result.stdout


def test_siblings_on_one_layer_may_not_import_each_other(copy):
    (copy / "backend" / "brands" / "sideways.py").write_text("from backend.appeals import models  # noqa: F401\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "backend.brands is not allowed to import backend.appeals" in result.stdout


def test_the_shipped_package_may_not_import_devtools(copy):
    (copy / "backend" / "core" / "dev.py").write_text("from devtools.fake_wechat import FakeWeChat  # noqa: F401\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "backend is not allowed to import devtools" in result.stdout
    assert "backend.core.dev -> devtools" in result.stdout


def test_a_function_nothing_calls_is_dead_code(copy):
    selectors = copy / "backend" / "volunteers" / "selectors" / "__init__.py"
    unused = "\n\ndef hours_nobody_asks_for(volunteer_id: int) -> int:\n    return 0\n"
    selectors.write_text(selectors.read_text() + unused)
    found = dead_code_module.dead_code(copy)
    assert len(found) == 1
    assert (
        "backend/volunteers/selectors/__init__.py" in found[0] and "unused function 'hours_nobody_asks_for'" in found[0]
    )


def test_the_dead_code_check_exits_non_zero_on_a_finding(copy):
    (copy / "backend" / "core" / "leftover.py").write_text("class NobodyUsesMe:\n    pass\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dead_code.py"), str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "unused class 'NobodyUsesMe'" in result.stdout
    assert "dead code: 1 definition(s)" in result.stderr


def test_the_tree_keeps_its_sizes():
    assert sizes_module.oversized(ROOT) == []


def test_a_module_past_its_size_fails(copy):
    (copy / "backend" / "core" / "sprawl.py").write_text("VALUE = 1\n" * (sizes_module.MODULE_LINES + 1))
    found = [line for line in sizes_module.oversized(copy) if "sprawl.py" in line]
    assert found == [
        f"backend/core/sprawl.py:1: module of {sizes_module.MODULE_LINES + 1} lines (limit 600): split it by sub-domain"
    ]


def _long_function(docstring: str) -> str:
    body = "".join(f"    total += {n}\n" for n in range(sizes_module.FUNCTION_LINES))
    return f'def long_sum() -> int:\n    """{docstring}"""\n    total = 0\n{body}    return total\n'


def test_a_long_function_fails_unless_its_docstring_says_why(copy):
    target = copy / "backend" / "core" / "longsum.py"
    target.write_text(_long_function("Adds the numbers."))
    found = [line for line in sizes_module.oversized(copy) if "longsum.py" in line]
    assert len(found) == 1 and found[0].startswith("backend/core/longsum.py:1: long_sum() is 64 lines")

    target.write_text(_long_function("Adds the numbers.\n\n    Length: one sum read as one table."))
    assert not [line for line in sizes_module.oversized(copy) if "longsum.py" in line]


def test_a_type_error_in_a_service_fails_the_type_check(copy, tmp_path):
    services = copy / "backend" / "communities" / "services.py"
    services.write_text(
        services.read_text()
        + "\n\ndef street_count(street_id: int) -> str:\n    return street_id\n"
        + "\n\ndef untyped(street_id):\n    return street_id\n"
    )
    env = {**os.environ, "PYTHONPATH": str(copy)}
    result = subprocess.run(
        [
            str(MYPY),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--follow-imports",
            "silent",
            "backend/communities/services.py",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Incompatible return value type (got "int", expected "str")  [return-value]' in result.stdout
    # Services are held to strict typing: an unannotated function is an error there.
    assert "Function is missing a type annotation  [no-untyped-def]" in result.stdout
