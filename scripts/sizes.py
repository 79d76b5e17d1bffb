"""Module and function sizes in backend/ (`make lint`): big rooms are split before they grow.

A module over MODULE_LINES lines fails (migrations are generated and left out). A function or
method over FUNCTION_LINES lines fails unless its docstring gives the reason in a paragraph that
starts with "Length:" (for example a view that must stay one transaction, or a table of cases
that reads best whole). Exit status 1 when anything is over.

    python scripts/sizes.py [ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES = 600
FUNCTION_LINES = 60
REASON = "Length:"


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in (root / "backend").rglob("*.py") if "migrations" not in p.parts)


def _has_reason(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(paragraph.lstrip().startswith(REASON) for paragraph in doc.split("\n\n"))


def oversized(root: Path) -> list[str]:
    """One line per module or function over its limit, as `path:line: what`."""
    found: list[str] = []
    for path in _sources(root):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(root)
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            found.append(f"{name}:1: module of {lines} lines (limit {MODULE_LINES}): split it by sub-domain")
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > FUNCTION_LINES and not _has_reason(node):
                found.append(
                    f"{name}:{node.lineno}: {node.name}() is {length} lines (limit {FUNCTION_LINES}): "
                    f"split it, or say why in a docstring paragraph starting {REASON!r}"
                )
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    found = oversized(root)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
