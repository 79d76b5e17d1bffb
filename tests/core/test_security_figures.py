"""docs/security.md's figures are the ones a run printed, in the block `make security-figures` writes."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEAD = re.compile(r"^(?:The last run of `make test-security`|Then,) (?P<where>.+), (?P<date>\d{4}-\d{2}-\d{2}):$")


def _script():
    spec = importlib.util.spec_from_file_location("security_figures", ROOT / "scripts" / "security_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(block: str, databases: dict[str, str]) -> list[dict]:
    """The runs the block shows, read back the way the script wrote them."""
    by_sentence = {sentence: name for name, sentence in databases.items()}
    runs = []
    for lead, body in re.findall(r"^([^\n]+:)\n\n```\n(.*?)\n```", block, re.M | re.S):
        match = LEAD.match(lead)
        assert match, f"not a run's opening line: {lead!r}"
        assert match["where"] in by_sentence, f"unknown database in {lead!r}"
        figures = dict(line.split(": ", 1) for line in body.splitlines())
        runs.append({"database": by_sentence[match["where"]], "date": match["date"], "figures": figures})
    return runs


def _printed_figure_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests" / "security").glob("*.py"):
        names.update(re.findall(r"(?:FIGURES|figures)\[\"([^\"]+)\"\]", path.read_text()))
    return names


def test_the_doc_block_is_what_the_script_writes_and_names_every_figure():
    script = _script()
    _before, block, _after = script.between_markers((ROOT / "docs" / "security.md").read_text())
    runs = _parse(block, script.DATABASES)
    assert runs, "no run between the markers: `make test-security && make security-figures`"
    assert script.render(runs) == block, "the block was edited by hand: `make security-figures`"
    shown = {name for run in runs for name in run["figures"]}
    missing = _printed_figure_names() - shown
    assert not missing, f"figures the checks print but the doc does not show: {sorted(missing)}"
    # Every figure that counts failures says zero of them.
    for run in runs:
        for _name, line in run["figures"].items():
            for count, what in re.findall(r"\b(\d+) (broken|leaks|unexpected|5xx|lost|doubled|took effect)\b", line):
                assert count == "0", f"{line}: {count} {what}"


def test_the_script_rewrites_only_the_block_and_check_notices_a_difference(tmp_path, monkeypatch):
    script = _script()
    doc = tmp_path / "security.md"
    doc.write_text(f"# Security\n\nbefore\n\n{script.START}\nold\n{script.END}\n\nafter\n")
    runs = tmp_path / "figures.json"
    figures = {"limits": "3 held, 0 broken (a, b, c)", "authorization": "10 cells, 0 unexpected"}
    runs.write_text(json.dumps({"runs": [{"database": "sqlite", "date": "2026-12-07", "figures": figures}]}))
    monkeypatch.setattr(script, "DOC", doc)
    monkeypatch.setattr(script, "RUNS", runs)
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0
    text = doc.read_text()
    assert text.startswith("# Security\n\nbefore\n\n") and text.endswith(f"{script.END}\n\nafter\n")
    assert "limits: 3 held, 0 broken (a, b, c)\nauthorization: 10 cells, 0 unexpected" in text
    assert script.main(["--check"]) == 0


def test_a_doc_without_markers_is_refused():
    with pytest.raises(ValueError):
        _script().between_markers("# Security\n\nno markers here\n")


def test_limits_are_counted_from_the_outcomes_a_failure_counts_as_broken(monkeypatch):
    from types import SimpleNamespace

    from tests.security import conftest

    monkeypatch.setattr(conftest, "LIMITS", {"a": "page size", "b": "login throttle", "c": "upload 413"})
    monkeypatch.setattr(conftest, "LIMIT_OUTCOMES", {})

    def report(nodeid: str, when: str, outcome: str) -> SimpleNamespace:
        return SimpleNamespace(
            nodeid=nodeid,
            when=when,
            failed=outcome == "failed",
            skipped=outcome == "skipped",
            passed=outcome == "passed",
        )

    for nodeid, outcome in (("a", "passed"), ("b", "passed"), ("c", "failed")):
        conftest.pytest_runtest_logreport(report(nodeid, "setup", "passed"))
        conftest.pytest_runtest_logreport(report(nodeid, "call", outcome))
        conftest.pytest_runtest_logreport(report(nodeid, "teardown", "passed"))
    # An error at teardown breaks a limit whose call passed.
    conftest.pytest_runtest_logreport(report("b", "teardown", "failed"))
    assert conftest.limits_figure() == "1 held, 2 broken (page size); broken: login throttle, upload 413"
