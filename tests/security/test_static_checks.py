"""Static checks with a figure each: bandit over backend/, the dependency floors, `check --deploy`.

`make test-security` also runs bandit on its own before pytest, so a finding fails the leg early
with bandit's own report; this test gives the figure and holds every `# nosec` to its reason.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_dependency_floors import floors_below_the_reviewed_minimum, reviewed_floors
from tests.core.test_deploy_check import check_deploy, compose_production_env

pytestmark = pytest.mark.security

ROOT = Path(__file__).resolve().parents[2]
NOSEC = re.compile(r"#\s*nosec\b(?P<tests>[^#]*)")


def _statement_start(tree: ast.AST, line: int) -> int:
    """The first line of the innermost statement that spans `line`."""
    spans = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return max(spans, default=line)


def nosec_without_reason() -> list[str]:
    """`# nosec` must name its test (B608…) and say why: a comment after it, or right above its statement."""
    problems = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        tree = None
        for index, line in enumerate(lines):
            found = NOSEC.search(line)
            if not found:
                continue
            where = f"{path.relative_to(ROOT)}:{index + 1}"
            if not re.fullmatch(r"\s*B\d{3}(\s*,\s*B\d{3})*\s*", found["tests"]):
                problems.append(f"{where}: name the test, e.g. `# nosec B608`")
            after = line[found.end() :].lstrip("# ").strip()
            tree = tree or ast.parse(source)
            above = lines[_statement_start(tree, index + 1) - 2].strip() if index else ""
            if not after and not (above.startswith("#") and len(above) > 10):
                problems.append(f"{where}: say why beside the nosec (`# nosec B608  # why`) or right above")
    return problems


def test_bandit_finds_nothing_at_medium_or_above(figures):
    bandit = Path(sys.executable).with_name("bandit")
    done = subprocess.run(
        [str(bandit), "-c", "pyproject.toml", "-r", "backend", "-ll", "-ii", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    findings = [
        f"{row['filename']}:{row['line_number']} {row['test_id']} {row['issue_severity']}/{row['issue_confidence']}: "
        f"{row['issue_text']}"
        for row in report["results"]
    ]
    assert not findings, "\n".join(findings)
    assert not report["errors"], report["errors"]
    assert done.returncode == 0, done.stderr
    problems = nosec_without_reason()
    assert not problems, "\n".join(problems)
    nosecs = sum(len(NOSEC.findall(path.read_text())) for path in (ROOT / "backend").rglob("*.py"))
    figures["bandit"] = (
        f"{int(report['metrics']['_totals']['loc'])} lines of backend/ scanned, 0 findings at medium severity "
        f"and confidence or above ({nosecs} `# nosec`, each naming its test and why)"
    )


def test_nosec_check_bites(tmp_path, monkeypatch):
    """A bare `# nosec` and one without a reason are both reported."""
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "x.py").write_text("a = 1\nb = eval('1')  # nosec\nc = 2\nd = 3\ne = 4  # nosec B307\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    problems = nosec_without_reason()
    assert any("x.py:2" in p and "name the test" in p for p in problems)
    assert any("x.py:5" in p and "say why" in p for p in problems)


def test_dependency_floors(figures):
    assert not floors_below_the_reviewed_minimum()
    reviewed, floors = reviewed_floors()
    advisories = sum(len(floor.advisories) for floor in floors)
    figures["dependency floors"] = (
        f"{len(floors)} packages at or above their last fixed release, {advisories} advisories cleared "
        f"(reviewed {reviewed})"
    )


def test_check_deploy_with_the_compose_environment(figures, tmp_path):
    done = check_deploy(compose_production_env(tmp_path))
    assert done.returncode == 0 and "no issues" in done.stdout, done.stdout + done.stderr
    figures["check --deploy"] = "0 warnings with compose.yaml's environment and a filled-in deploy/env.example"
