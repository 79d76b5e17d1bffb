"""schemathesis over the whole schema, in-process through the WSGI app, one role at a time."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from . import harness
from .urlconf import api_endpoints

# Examples per operation, role and generation mode: small for the CI leg, larger for test-security-full.
MAX_EXAMPLES = int(os.environ.get("SECURITY_FUZZ_EXAMPLES", "2"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def load_schema():
    from backend.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@dataclass
class Tally:
    cases: int = 0
    server_errors: int = 0
    violations: int = 0
    failures: Counter = field(default_factory=Counter)  # "role METHOD path: what" → times

    def record(self, label: str, failures: list[Failure], status: int) -> None:
        """One case's failed checks: a 5xx counts once, whatever else it broke."""
        if status >= 500:
            self.server_errors += 1
            self.failures[f"{label} -> {status}"] += 1
            return
        self.violations += len(failures)
        for failure in failures:
            self.failures[f"{label} -> {status}: {failure.title}: {_short(failure.message)}"] += 1


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


def real_ids(side) -> dict[str, dict[str, object]]:
    """Schema path → path parameters naming real objects of `side` (the schema calls `pk` `id`)."""
    out: dict[str, dict[str, object]] = {}
    for endpoint in api_endpoints():
        if not endpoint.kwargs:
            continue
        try:
            values = harness.path_values(endpoint, side)
        except harness.MissingObject:
            continue
        path = "/" + endpoint.route
        for name, value in values.items():
            schema_name = "id" if name == "pk" else name
            path = path.replace("{" + name + "}", "{" + schema_name + "}")
            out.setdefault(path, {})[schema_name] = value
    return out


def fuzz_operation(operation, *, role: str, user, ids: dict[str, object] | None, tally: Tally, examples: int) -> None:
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"} if user else {}
    strategies = []
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if ids:
            # The same, aimed at objects that exist, so detail routes get past their 404.
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=ids))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=examples * len(strategies),
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        label = f"{role} {case.method.upper()} {case.formatted_path}"
        try:
            with transaction.atomic():
                response = case.call(headers=headers)
                tally.cases += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    tally.record(label, list(group.exceptions), response.status_code)
                except Failure as failure:
                    tally.record(label, [failure], response.status_code)
                raise harness._Rollback
        except harness._Rollback:
            pass

    run()
