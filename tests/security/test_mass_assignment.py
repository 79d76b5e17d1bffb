"""Mass assignment: every write the URL conf exposes, sent once plain and once with a field slipped in.

For each write (create, PATCH/PUT of a detail route, and the POST actions), as each role that the
plain request succeeds for, the same request is sent again with one field added: each of PROBES,
then every other column of the model the write is about, with a value of its type (each time in a
savepoint rolled back after it). Every column of the target row (or the row created) is compared,
and the caller's own account (every column) and role grants (every column), leaving out what
differs between two plain runs anyway (a generated number or token).
- A field that is not a documented input of that operation (its request body in the schema) must
  leave every compared value exactly as the plain request left it.
- A documented `community` is tried with the other street's community: it must never be stored for
  a caller whose scope does not cover it.
Differences between the two runs are what the extra field did, so a workflow action (approve sets
its own status) is judged by what the field changed, not by what the action does anyway.
"""

from __future__ import annotations

import decimal
import os
from dataclasses import dataclass

import pytest
from django.db import models, transaction
from rest_framework.test import APIClient

from backend.accounts.models import RoleGrant, User

from . import harness
from .bodies import _endpoints, base_body, documented_inputs, schema_of
from .urlconf import Endpoint

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# SECURITY_ONLY=members/ narrows a run to the routes holding it (for debugging).
ONLY = os.environ.get("SECURITY_ONLY", "")
PROBES = ("status", "hours", "approved_by", "role", "is_staff", "is_superuser", "points", "community")
CALLERS = ("resident", "member", "volunteer", "unit_liaison", "staff", "street_admin")
# Where the caller picks any community by design, so `community` has no scope to stay inside.
FREE_CHOICE_COMMUNITY = {
    ("PATCH", "auth/users/me/"),  # the home community the user chose (API.md)
    ("POST", "demands/"),  # 群众点单: anyone files a need with the community it concerns
    ("POST", "appeals/"),  # a resident's appeal goes to the community it is about
    ("POST", "members/registrations/"),  # 双报到: a member registers with any community
    ("POST", "members/unit-registrations/"),
    ("POST", "volunteers/me/"),  # a volunteer's own community
    ("PATCH", "volunteers/me/"),
    ("POST", "volunteers/records/"),  # a record is filed with the community that organised the service
}
SKIPPED_ROUTES = ("uploads/",)  # multipart only; its caps are tested in test_limits


@dataclass
class Snapshot:
    target: dict[str, object] | None
    caller: tuple


def _columns(model) -> list[models.Field]:
    """Every stored column of the model but its key and the timestamps the database keeps itself."""
    if model is None:
        return []
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
    ]


def _row(instance: models.Model | None) -> dict[str, object] | None:
    if instance is None:
        return None
    fresh = type(instance)._base_manager.filter(pk=instance.pk).first()
    if fresh is None:
        return {"deleted": True}
    return {field.attname: getattr(fresh, field.attname) for field in _columns(type(fresh))}


def _caller(user: User | None) -> tuple:
    """The caller's account (every column but the password) and every column of its role grants."""
    if user is None:
        return ()
    fresh = User.objects.get(pk=user.pk)
    account = tuple((f.attname, getattr(fresh, f.attname)) for f in _columns(User) if f.name != "password")
    grant_fields = [f.attname for f in RoleGrant._meta.concrete_fields]
    grants = tuple(RoleGrant.objects.filter(user=user).order_by("pk").values_list(*grant_fields))
    return (account, grants)


def _created(model, body) -> models.Model | None:
    if model is None or not isinstance(body, dict) or "id" not in body:
        return None
    return model._base_manager.filter(pk=body["id"]).first()


def _probes(model) -> list[str]:
    """PROBES, then every other column of the model the write is about (by its input name)."""
    names = list(PROBES)
    for field in _columns(model):
        if field.name not in names:
            names.append(field.name)
    return names


def _evil_for_column(field: models.Field, world, current: object) -> object:
    """A value of the column's type that the plain request would not have stored."""
    if field.is_relation:
        other = world.b.object_for(field.related_model)
        return other.pk if other is not None else 2_000_000_000
    if isinstance(field, models.BooleanField):
        return not current
    if isinstance(field, models.DecimalField):
        return "99.50"
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 999
    if isinstance(field, models.DateTimeField):
        return "2001-01-01T08:00:00+08:00"
    if isinstance(field, models.DateField):
        return "2001-01-01"
    if isinstance(field, models.JSONField):
        return {"injected": True}
    if field.choices:
        return next((value for value, _label in field.choices if value != current), "injected")
    return "注入的值"


def _evil(name: str, world, target_row: dict | None, model) -> object:
    """A value for `name` that the plain request would not have produced."""
    if name not in PROBES and model is not None:
        field = model._meta.get_field(name)
        return _evil_for_column(field, world, (target_row or {}).get(field.attname))
    current = (target_row or {}).get(name)
    if name == "community":
        return world.b.community.pk
    if name == "approved_by":
        return world.b.users["street_admin"].pk
    if name in ("is_staff", "is_superuser"):
        return True
    if name == "role":
        return "street_admin"
    if name == "hours":
        return "99.50"
    if name == "points":
        return 999
    if name == "status" and model is not None:
        try:
            field = model._meta.get_field("status")
        except Exception:
            return "approved"
        for value, _label in field.choices or []:
            if value != current:
                return value
    return "approved"


def _send(api: APIClient, method: str, path: str, body: dict, model, target, user) -> tuple[int, Snapshot]:
    """The request and what it left, inside a savepoint rolled back afterwards."""
    result: tuple[int, Snapshot] | None = None
    try:
        with transaction.atomic():
            response = api.generic(method, path, _json(body), content_type="application/json")
            data = response.json() if response.get("Content-Type", "").startswith("application/json") else None
            row = _row(target if target is not None else _created(model, data))
            result = (response.status_code, Snapshot(row, _caller(user)))
            raise harness._Rollback
    except harness._Rollback:
        pass
    assert result is not None
    return result


def _json(body: dict) -> str:
    import json

    return json.dumps(body, default=lambda v: str(v) if isinstance(v, decimal.Decimal) else v)


def _writes(world) -> list[tuple[Endpoint, str]]:
    out = []
    for endpoint in _endpoints():
        if endpoint.key.startswith(SKIPPED_ROUTES):
            continue
        if ONLY and ONLY not in endpoint.route:
            continue
        for method in endpoint.methods:
            if method in ("POST", "PATCH", "PUT"):
                out.append((endpoint, method))
    return out


def test_no_field_is_mass_assigned(world, api, no_throttles, figures):
    schema = schema_of(api)
    staff = harness.client(world.user("staff"))
    attempts = 0
    exercised: set[str] = set()
    writes = _writes(world)
    took_effect: list[str] = []
    # One client per role: each new client loads the middleware again on its first request.
    clients: dict[str, APIClient] = {}
    for endpoint, method in writes:
        inputs = documented_inputs(schema, endpoint, method)
        if inputs is None:
            continue
        model = harness.view_model(endpoint.view)
        values = harness.path_values(endpoint, world.a)
        path = endpoint.path(values)
        target = world.a.object_for(model) if "pk" in endpoint.kwargs and model is not None else None
        base = base_body(endpoint, method, model, target, inputs, staff, world)
        for role in CALLERS:
            user = world.user(role)
            if user is None:
                continue
            if role not in clients:
                clients[role] = harness.client(user)
            api_client = clients[role]
            status, plain = _send(api_client, method, path, base, model, target, user)
            if not 200 <= status < 300:
                continue
            # Sent twice: what differs between two plain runs (a generated number, a token) is no finding.
            _again, plain_again = _send(api_client, method, path, base, model, target, user)
            unstable = {line.split(":", 1)[0] for line in _differences(plain, plain_again)}
            exercised.add(f"{method} {endpoint.key}")
            for name in _probes(model):
                documented = name in inputs
                if documented and (name != "community" or (method, endpoint.key) in FREE_CHOICE_COMMUNITY):
                    continue  # a documented input with no scope to check: the endpoint's own rules apply
                body = {**base, name: _evil(name, world, plain.target, model)}
                attempts += 1
                status2, probed = _send(api_client, method, path, body, model, target, user)
                if not 200 <= status2 < 300:
                    continue
                changed = [line for line in _differences(plain, probed) if line.split(":", 1)[0] not in unstable]
                if changed:
                    kind = "out-of-scope community stored" if documented else "undocumented field took effect"
                    took_effect.append(f"{method} {path} as {role} with {name}={body[name]!r}: {kind}: {changed}")
    figures["mass-assignment"] = (
        f"{attempts} attempts on {len(exercised)} of {len(writes)} writes, {len(took_effect)} took effect"
    )
    assert not took_effect, "\n".join(took_effect)


def _differences(plain: Snapshot, probed: Snapshot) -> list[str]:
    out = []
    if plain.caller != probed.caller:
        out.append(f"caller account {plain.caller} -> {probed.caller}")
    before, after = plain.target or {}, probed.target or {}
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            out.append(f"{key}: {before.get(key)!r} -> {after.get(key)!r}")
    return out
