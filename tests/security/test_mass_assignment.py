"""Mass assignment: every write the URL conf exposes, sent once plain and once with a field slipped in.

For each write (create, PATCH/PUT of a detail route, and the POST actions), as each role that the
plain request succeeds for, the same request is sent again with one of PROBES added (each time in
a savepoint rolled back after it). The stored rows are then compared: the target row (or the row
created), and the caller's own account (is_staff, is_superuser, role grants).
- A field that is not a documented input of that operation (its request body in the schema) must
  leave every compared value exactly as the plain request left it.
- A documented `community` is tried with the other street's community: it must never be stored for
  a caller whose scope does not cover it.
Differences between the two runs are what the extra field did, so a workflow action (approve sets
its own status) is judged by what the field changed, not by what the action does anyway.
"""

from __future__ import annotations

import decimal
import functools
import os
import uuid
from dataclasses import dataclass

import pytest
from django.db import models, transaction
from rest_framework.test import APIClient

from backend.accounts.models import RoleGrant, User

from . import harness
from .urlconf import Endpoint, api_endpoints

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# SECURITY_ONLY=members/ narrows a run to the routes holding it (for debugging).
ONLY = os.environ.get("SECURITY_ONLY", "")
PROBES = ("status", "hours", "approved_by", "role", "is_staff", "is_superuser", "points", "community")
CALLERS = ("resident", "member", "volunteer", "unit_liaison", "staff", "street_admin")
# Fields workflow actions commonly need, so the plain request of an action gets past validation.
ACTION_BODY = {"reason": "核实不符", "content": "已处理", "comment": "满意", "score": 5, "note": "备注"}
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


def _schema(api: APIClient) -> dict:
    return api.get("/api/schema/?format=json").json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def documented_inputs(schema: dict, endpoint: Endpoint, method: str) -> set[str] | None:
    """The request body's properties for this operation, or None when it is not in the schema."""
    path = "/" + endpoint.route.replace("{pk}", "{id}")
    operation = schema["paths"].get(path, {}).get(method.lower())
    if operation is None:
        return None
    content = (operation.get("requestBody") or {}).get("content") or {}
    names: set[str] = set()
    for media in content.values():
        body = _resolve(schema, media.get("schema") or {})
        for part in [body, *body.get("allOf", []), *body.get("oneOf", []), *body.get("anyOf", [])]:
            part = _resolve(schema, part)
            names |= {n for n, p in (part.get("properties") or {}).items() if not _resolve(schema, p).get("readOnly")}
    return names


def _row(instance: models.Model | None) -> dict[str, object] | None:
    if instance is None:
        return None
    fresh = type(instance)._base_manager.filter(pk=instance.pk).first()
    if fresh is None:
        return {"deleted": True}
    values = {}
    for name in PROBES:
        try:
            field = fresh._meta.get_field(name)
        except Exception:
            continue
        if field.concrete:
            values[name] = getattr(fresh, field.attname)
    return values


def _caller(user: User | None) -> tuple:
    if user is None:
        return ()
    fresh = User.objects.get(pk=user.pk)
    grants = tuple(RoleGrant.objects.filter(user=user).order_by("pk").values_list("role", "community_id", "street_id"))
    return (fresh.is_staff, fresh.is_superuser, grants)


def _created(model, body) -> models.Model | None:
    if model is None or not isinstance(body, dict) or "id" not in body:
        return None
    return model._base_manager.filter(pk=body["id"]).first()


def _evil(name: str, world, target_row: dict | None, model) -> object:
    """A value for `name` that the plain request would not have produced."""
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


@functools.cache
def _endpoints() -> tuple[Endpoint, ...]:
    return tuple(api_endpoints())


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


def _base_body(endpoint: Endpoint, method: str, model, target, inputs: set[str], staff: APIClient, world) -> dict:
    """A body the plain request can succeed with: an existing object's own values, or the action fields."""
    is_action = endpoint.actions is not None and endpoint.actions.get(method.lower()) not in (
        "create",
        "update",
        "partial_update",
    )
    if is_action or not inputs:
        return dict(ACTION_BODY)
    if method == "PATCH":
        return {}
    # A create or a full update: the fields of side A's object of that kind, as its staff reads it.
    sample = target or (world.a.object_for(model) if model is not None else None)
    if sample is None:
        return {}
    detail = next((e for e in _endpoints() if e.view is endpoint.view and e.kwargs == ("pk",)), None)
    if detail is None:
        return {}
    shown = harness.send(staff, "GET", detail.path({"pk": sample.pk}))
    if not isinstance(shown.body, dict):
        return {}
    return {k: _fresh(k, v) for k, v in shown.body.items() if k in inputs and v is not None}


def _fresh(key: str, value: object) -> object:
    """A shown value turned back into input: phones unmasked, names and retry keys made new."""
    if "phone" in key and isinstance(value, str):
        return "13912345678"
    if key == "client_id":
        return str(uuid.uuid4())
    if key in ("name", "title") and isinstance(value, str):
        return value + "（二）"
    if key == "audience" and isinstance(value, dict) and value.get("ids"):
        return {value["kind"]: value["ids"][0]}
    return value


def test_no_field_is_mass_assigned(world, api, no_throttles, figures):
    schema = _schema(api)
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
        base = _base_body(endpoint, method, model, target, inputs, staff, world)
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
            exercised.add(f"{method} {endpoint.key}")
            for name in PROBES:
                documented = name in inputs
                if documented and (name != "community" or (method, endpoint.key) in FREE_CHOICE_COMMUNITY):
                    continue  # a documented input with no scope to check: the endpoint's own rules apply
                body = {**base, name: _evil(name, world, plain.target, model)}
                attempts += 1
                status2, probed = _send(api_client, method, path, body, model, target, user)
                if not 200 <= status2 < 300:
                    continue
                changed = _differences(plain, probed)
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
