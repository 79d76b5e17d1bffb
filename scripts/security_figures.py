"""Writes the last `make test-security` run's figures into docs/security.md (`make security-figures`).

Each pytest run of the security checks records the lines it printed under "security figures" in
`var/security-figures.json` (tests/security/conftest.py): `make test-security` starts the file
afresh, then appends one run per database. This script replaces what docs/security.md holds
between its two markers with those lines, so the figures in the doc are the ones a run printed.

    python scripts/security_figures.py           # rewrite the doc
    python scripts/security_figures.py --check   # exit 1 if the doc differs from the last run
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"
RUNS = ROOT / "var" / "security-figures.json"
START = "<!-- security figures: written by `make security-figures` from the last run; do not edit -->"
END = "<!-- end of security figures -->"

DATABASES = {
    "sqlite": "on the embedded default (SQLite)",
    "postgresql": "on the machine's PostgreSQL (a second pytest run of `make test-security`)",
}


def render(runs: list[dict]) -> str:
    """The block between the markers: per run, a sentence naming the database, then its lines."""
    parts: list[str] = []
    for index, run in enumerate(runs):
        where = DATABASES.get(run["database"], f"on {run['database']}")
        lead = "The last run of `make test-security`" if index == 0 else "Then,"
        parts.append(f"{lead} {where}, {run['date']}:")
        lines = [f"{name}: {line}" for name, line in run["figures"].items()]
        parts.append("```\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts)


def between_markers(text: str) -> tuple[str, str, str]:
    """(before, block, after) of the doc; raises ValueError when the markers are missing or out of order."""
    start = text.index(START)
    end = text.index(END, start)
    return text[: start + len(START)], text[start + len(START) : end].strip("\n"), text[end:]


def main(argv: list[str]) -> int:
    if not RUNS.exists():
        print(f"no {RUNS.relative_to(ROOT)}: run `make test-security` first", file=sys.stderr)
        return 1
    runs = json.loads(RUNS.read_text())["runs"]
    text = DOC.read_text()
    before, block, after = between_markers(text)
    wanted = render(runs)
    if "--check" in argv:
        if block != wanted:
            print("docs/security.md's figures differ from the last run: `make security-figures`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(f"{before}\n{wanted}\n{after}")
    print(f"docs/security.md: {sum(len(run['figures']) for run in runs)} figures from {len(runs)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
