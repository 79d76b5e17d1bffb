"""The whole API fuzzed against its own schema: no 5xx, and every answer (4xx included) as documented.

In-process (the WSGI app, no server), as a registered party member and as community staff, with
the examples per operation capped (SECURITY_FUZZ_EXAMPLES; `make test-security-full` raises it).
Each case runs in a savepoint rolled back after it, so the fixtures stay as built.
"""

from __future__ import annotations

import os

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from . import fuzz, harness

pytestmark = [pytest.mark.security, pytest.mark.django_db]


@pytest.fixture
def api_schema(db):
    # Requests sent straight to the WSGI app (not through Django's test client) would close the
    # test's database connection at their end, inside its transaction: keep it open, as the client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield fuzz.load_schema()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_as_member_and_staff(api_schema, world, no_throttles, fake_wechat, figures):
    tally = fuzz.Tally()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 100, "the schema lost most of its operations"
    # SECURITY_FUZZ_ONLY=/members/ narrows a run to the operations whose path holds it (for debugging).
    only = os.environ.get("SECURITY_FUZZ_ONLY")
    if only:
        operations = [op for op in operations if only in op.path]
    ids = fuzz.real_ids(world.a)
    for role in ("member", "staff"):
        user = world.user(role)
        for operation in operations:
            fuzz.fuzz_operation(
                operation,
                role=role,
                user=user,
                ids=ids.get(operation.path),
                tally=tally,
                examples=fuzz.MAX_EXAMPLES,
            )
    figures["schemathesis"] = (
        f"{tally.cases} cases over {len(operations)} operations, {tally.server_errors} 5xx, "
        f"{tally.violations} schema violations"
    )
    report = "\n".join(f"{n}× {line}" for line, n in sorted(tally.failures.items()))
    assert tally.server_errors == 0 and tally.violations == 0, report


HUGE = 2**70  # past every integer column; SQLite cannot even bind it, PostgreSQL refuses it


def test_out_of_range_numbers_never_reach_the_database(api, world, no_throttles, figures):
    """Deterministic, beside the random cases: every integer query and path parameter the schema
    documents, sent as a number no column holds (and a year no calendar has), answers 4xx, never 500."""
    schema = api.get("/api/schema/?format=json").json()
    staff = harness.client(world.user("staff"))
    ids = fuzz.real_ids(world.a)
    sent = 0
    errors: list[str] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "delete") or not isinstance(operation, dict):
                continue
            params = operation.get("parameters", [])
            real = dict(ids.get(path, {}))
            base = path
            for name, value in real.items():
                base = base.replace("{" + name + "}", str(value))
            probes: list[str] = []
            for param in params:
                if (param.get("schema") or {}).get("type") not in ("integer", "number"):
                    continue
                if param["in"] == "query" and "{" not in base:
                    probes += [f"{base}?{param['name']}={HUGE}", f"{base}?{param['name']}={-HUGE}"]
                elif param["in"] == "path":
                    probes.append(path.replace("{" + param["name"] + "}", str(HUGE)).replace("{", "").replace("}", ""))
            for url in probes:
                if "{" in url or not url.startswith("/api/"):
                    continue
                status = harness.send(staff, method.upper(), url).status
                sent += 1
                if status >= 500:
                    errors.append(f"{method.upper()} {url} -> {status}")
    figures["boundaries"] = f"{sent} out-of-range ids and filters, {len(errors)} 5xx"
    assert not errors, "\n".join(errors)
