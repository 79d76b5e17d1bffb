"""pyproject.toml's lower bounds stay above every release with a known advisory (docs/dependency-floors.toml).

The reviewed list is data; docs/security.md shows it as a table, which must say the same.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ROOT / "docs" / "dependency-floors.toml"


@dataclass(frozen=True)
class Floor:
    package: str
    minimum: Version  # the newest release that fixed a listed advisory
    advisories: tuple[str, ...]


def reviewed_floors() -> tuple[str, list[Floor]]:
    data = tomllib.loads(FLOORS.read_text())
    by_package: dict[str, list[dict]] = defaultdict(list)
    for fix in data["fix"]:
        by_package[fix["package"]].append(fix)
    floors = [
        Floor(
            package=package,
            minimum=max(Version(fix["fixed"]) for fix in fixes),
            advisories=tuple(advisory for fix in fixes for advisory in fix["advisories"]),
        )
        for package, fixes in by_package.items()
    ]
    return str(data["reviewed"]), floors


def declared_lower_bounds() -> dict[str, Version | None]:
    """Every dependency of pyproject.toml (runtime and dev) by canonical name → its lower bound."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    bounds: dict[str, Version | None] = {}
    for text in declared:
        requirement = Requirement(text)
        lower = [
            Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "==", "~=", "===", ">")
        ]
        bounds[canonicalize_name(requirement.name)] = max(lower) if lower else None
    return bounds


def floors_below_the_reviewed_minimum() -> list[str]:
    bounds = declared_lower_bounds()
    problems = []
    for floor in reviewed_floors()[1]:
        name = canonicalize_name(floor.package)
        if name not in bounds:
            problems.append(f"{floor.package}: listed in {FLOORS.name} but not a dependency in pyproject.toml")
        elif bounds[name] is None or bounds[name] < floor.minimum:
            problems.append(
                f"{floor.package}: pyproject.toml allows {bounds[name]}, the reviewed minimum is {floor.minimum}"
            )
    return problems


def test_every_reviewed_package_has_a_floor_at_or_above_its_last_fix():
    problems = floors_below_the_reviewed_minimum()
    assert not problems, "\n".join(problems)


def test_the_security_doc_table_mirrors_the_reviewed_floors():
    reviewed, floors = reviewed_floors()
    text = (ROOT / "docs" / "security.md").read_text()
    section = text.split("## Dependency floors", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and re.match(r"\d", cells[1]):
            rows[cells[0]] = cells
    assert set(rows) == {floor.package for floor in floors}
    for floor in floors:
        _, minimum, advisories, date = rows[floor.package]
        assert Version(minimum) == floor.minimum, floor.package
        assert [a.strip() for a in advisories.split(",")] == list(floor.advisories), floor.package
        assert date == reviewed, floor.package


def test_a_lowered_floor_is_caught(monkeypatch):
    """The check bites: with Pillow back at 11, the Pillow row fails."""
    real = declared_lower_bounds()
    monkeypatch.setitem(globals(), "declared_lower_bounds", lambda: {**real, "pillow": Version("11")})
    assert [p for p in floors_below_the_reviewed_minimum() if p.startswith("Pillow")]
