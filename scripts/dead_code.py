"""Dead code in backend/ (`make lint`): vulture's findings, minus what the frameworks call by name.

Functions, classes, methods, properties and imports that nothing references are reported; exit
status 1 when there are any. Code only the tests use counts as used (tests/ is scanned). Variables
and attributes are left out: Django and DRF read model fields, Meta options and serializer fields
from class bodies, which vulture cannot see. Names the frameworks call (hooks, `get_<field>` of a
SerializerMethodField, …) are ignored by pattern below; entry points named only in strings
(settings, URLconf handlers) are listed in scripts/vulture_whitelist.py. Names used in templates
count as used.

    python scripts/dead_code.py [ROOT]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from vulture import Vulture

REPORTED = {"function", "class", "method", "property", "import"}

# Called by Django, DRF, django-filter, channels, http.server or unfold by name, never by our code.
FRAMEWORK_NAMES = [
    # Django: apps, commands, admin, forms, middleware, checks
    "*Config",
    "Command",
    "ready",
    "handle",
    "add_arguments",
    "save_model",
    "save_related",
    "delete_model",
    "delete_queryset",
    "has_*_permission",
    "get_*",
    "add_view",
    "change_view",
    "changelist_view",
    "Media",  # a form's or widget's assets, read by forms.MediaDefiningClass
    "value_from_datadict",
    "clean_*",
    "process_request",
    "process_response",
    "lookups",
    "queryset",
    # DRF: views, serializers, permissions, renderers
    "list",
    "create",
    "retrieve",
    "update",
    "partial_update",
    "destroy",
    "perform_*",
    "validate",
    "validate_*",
    "to_representation",
    "to_internal_value",
    "has_permission",
    "has_object_permission",
    "authenticate*",
    "render",
    "accepted_media_type",
    # django-filter `method=` filters
    "filter_*",
    # channels consumers
    "connect",
    "disconnect",
    "receive*",
    "websocket_*",
    "encode_json",
    "decode_json",
    # http.server
    "do_GET",
    "do_POST",
    "log_message",
]

# Decorated definitions are found by the framework that decorates them.
FRAMEWORK_DECORATORS = [
    "@admin.register",
    "@admin.display",
    "@admin.action",
    "@action",
    "@extend_schema*",
    "@register",
    "@receiver",
    "@task",
    "@pytest.fixture",
    "@cached_property",
]

_TEMPLATE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def dead_code(root: Path) -> list[str]:
    """vulture's report lines for root's backend/, one per dead definition."""
    vulture = Vulture(ignore_names=FRAMEWORK_NAMES, ignore_decorators=FRAMEWORK_DECORATORS)
    paths = [root / "backend", root / "devtools", root / "tests", Path(__file__).with_name("vulture_whitelist.py")]
    vulture.scavenge([str(p) for p in paths if p.exists()], exclude=["*/migrations/*"])
    for template in (root / "backend").rglob("templates/**/*.html"):
        vulture.used_names.update(_TEMPLATE_NAME.findall(template.read_text()))
    shipped = (str(root / "backend"), str(root / "devtools"))
    return [
        item.get_report(add_size=False)
        for item in vulture.get_unused_code(min_confidence=60)
        if item.typ in REPORTED and str(item.filename).startswith(shipped)
    ]


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]).resolve()
    found = dead_code(root)
    for line in found:
        print(line)
    print(f"dead code: {len(found)} definition(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
