"""Request bodies the security checks send: a write's documented inputs, and a body it can succeed with.

Shared by the authorization matrix (a write is judged with a body valid for its owner, so a 400
cannot pass for "past authorization") and the mass-assignment check (the plain request that an
extra field is compared against).
"""

from __future__ import annotations

import functools
import uuid

from rest_framework.test import APIClient

from . import harness
from .urlconf import Endpoint, api_endpoints

# Fields workflow actions commonly need, so the plain request of an action gets past validation.
ACTION_BODY = {"reason": "核实不符", "content": "已处理", "comment": "满意", "score": 5, "note": "备注"}


@functools.cache
def _endpoints() -> tuple[Endpoint, ...]:
    return tuple(api_endpoints())


def schema_of(api: APIClient) -> dict:
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


def base_body(endpoint: Endpoint, method: str, model, target, inputs: set[str], staff: APIClient, world) -> dict:
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


def write_body(endpoint: Endpoint, method: str, schema: dict, staff: APIClient, world) -> dict:
    """The body the authorization matrix sends with a write: valid for the write's owner on side A."""
    build = OPERATION_BODIES.get((method, endpoint.key))
    if build is not None:
        return build(world)
    inputs = documented_inputs(schema, endpoint, method) or set()
    model = harness.view_model(endpoint.view)
    target = world.a.object_for(model) if "pk" in endpoint.kwargs and model is not None else None
    return base_body(endpoint, method, model, target, inputs, staff, world)


# Writes whose valid body cannot be read back from an object of side A: one builder per operation.
OPERATION_BODIES: dict[tuple[str, str], object] = {}
