"""Sending one request as one role, inside a savepoint rolled back after it, and judging the answer."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from rest_framework.test import APIClient

from tests.conftest import client_for

from . import dbstate

DENIALS = (401, 403, 404, 405)


class _Rollback(Exception):
    pass


@dataclass
class Outcome:
    status: int
    changed: list[str]  # tables whose rows differ after the request (only looked at when it wrote)
    body: object


def client(user) -> APIClient:
    return client_for(user) if user is not None else APIClient()


def send(api: APIClient, method: str, path: str, body: object = None, *, baseline: dict | None = None) -> Outcome:
    """One request; the database is back as it was afterwards, whatever the request did.

    `baseline` is the checksum of the state before: when the request sent any write, the state
    after is hashed and compared with it, so a denial that still changed a row is caught.
    """
    outcome: Outcome | None = None
    try:
        with transaction.atomic():
            with dbstate.capture_writes() as writes:
                if method in ("GET", "HEAD", "DELETE") and body is None:
                    response = api.generic(method, path)
                else:
                    response = api.generic(
                        method, path, json.dumps(body if body is not None else {}), content_type="application/json"
                    )
            changed: list[str] = []
            # Hashing every table is the slow part: only a denial that wrote anything needs it.
            if writes and baseline is not None and response.status_code in DENIALS:
                changed = dbstate.changed_tables(baseline, dbstate.checksum())
            try:
                data = response.json() if response.get("Content-Type", "").startswith("application/json") else None
            except ValueError:
                data = None
            outcome = Outcome(response.status_code, changed, data)
            raise _Rollback
    except _Rollback:
        pass
    assert outcome is not None
    return outcome


def view_model(view: type | None):
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    serializer = getattr(view, "serializer_class", None)
    meta = getattr(serializer, "Meta", None)
    return getattr(meta, "model", None)


class MissingObject(LookupError):
    pass


def path_values(endpoint, side) -> dict[str, object]:
    """Real ids from `side` for each of the endpoint's path parameters."""
    values: dict[str, object] = {}
    for name in endpoint.kwargs:
        if name in ("pk", "id"):
            model = view_model(endpoint.view)
            instance = side.object_for(model) if model is not None else None
            if instance is None:
                raise MissingObject(f"{endpoint.route}: no {model} on side {side.community.name}")
            values[name] = instance.pk
        elif name.endswith("_pk"):
            wanted = name.removesuffix("_pk")
            instance = next((o for m, o in side.objects.items() if m._meta.model_name == wanted), None)
            if instance is None:
                raise MissingObject(f"{endpoint.route}: no {wanted} on side {side.community.name}")
            values[name] = instance.pk
        else:
            instance = next((o for o in side.objects.values() if hasattr(o, name)), None)
            if instance is None:
                raise MissingObject(f"{endpoint.route}: nothing with a {name!r} on side {side.community.name}")
            values[name] = getattr(instance, name)
    return values
