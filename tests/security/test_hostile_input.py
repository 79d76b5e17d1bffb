"""Hostile input, sent deterministically beside the schema fuzzing: nothing may answer 5xx or crash.

- every string field of every JSON write the schema documents gets a number, a boolean, a list, an
  object and a lone surrogate; every such write gets a body nested far past the parser's depth;
- the notices socket gets every frame type with hostile values (and frames that are no object);
- WeChat's push endpoint gets signed events with hostile values, for a trace id that exists.

Each request runs in a savepoint rolled back after it, as the authorization matrix does.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import pytest

from backend.core.models import ContentCheck
from backend.core.push_views import push_signature
from tests import factories
from tests.core.moderation_helpers import image
from tests.notices.helpers import socket_of_new_user

from . import harness
from .fuzz import real_ids

pytestmark = [pytest.mark.security]

# What each string field gets instead of a string.
NOT_STRINGS: dict[str, object] = {
    "number": 13800000000,
    "boolean": True,
    "list": ["x"],
    "object": {"x": "y"},
}
SURROGATE = "\ud800"  # valid in JSON ("\ud800"), no character of UTF-8
# Far past Python's recursion limit, well under the 2 MiB body cap.
NESTED_BODY = '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"

# Two hostile shapes swept on their own, with a figure of their own: bodies nested past the parser's
# recursion limit and lone surrogates (once 500s from the parser and the throttles' cache keys).
KNOWN_ELSEWHERE = {"nested body", "lone surrogate"}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _string_fields(schema: dict, operation: dict) -> list[str]:
    content = (operation.get("requestBody") or {}).get("content") or {}
    body = content.get("application/json")
    if body is None:
        return []
    node = _resolve(schema, body.get("schema") or {})
    fields = []
    for name, prop in (node.get("properties") or {}).items():
        prop = _resolve(schema, prop)
        types = prop.get("type")
        stringy = types == "string" or (isinstance(types, list) and "string" in types) or "enum" in prop
        if stringy and not prop.get("readOnly"):
            fields.append(name)
    return fields


def _json_writes(schema: dict, ids: dict[str, dict[str, object]]):
    """(method, concrete path, its string fields) for every JSON write whose path can be filled in."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch") or not isinstance(operation, dict):
                continue
            content = (operation.get("requestBody") or {}).get("content") or {}
            if "application/json" not in content:
                continue
            concrete = path
            for name, value in ids.get(path, {}).items():
                concrete = concrete.replace("{" + name + "}", str(value))
            if "{" in concrete:
                continue
            yield method.upper(), concrete, _string_fields(schema, operation)


def _first_past_authorization(clients: dict, method: str, path: str) -> object | None:
    """The client of the first role whose empty request is not refused for who it is."""
    for api in clients.values():
        if harness.send(api, method, path, {}).status not in harness.DENIALS:
            return api
    return None


def _send_raw(api, method: str, path: str, raw: str) -> int:
    from django.db import transaction

    status = 0
    try:
        with transaction.atomic():
            status = api.generic(method, path, raw, content_type="application/json").status_code
            raise harness._Rollback
    except harness._Rollback:
        pass
    return status


def _sweep(api_client, world, kinds: set[str]) -> tuple[int, int, list[str]]:
    """(requests, fields, 5xx lines) for the hostile kinds asked for."""
    schema = api_client.get("/api/schema/?format=json").json()
    clients = {role: harness.client(world.user(role)) for role in ("staff", "member", "street_admin", "anonymous")}
    ids = real_ids(world.a)
    sent = fields = 0
    errors: list[str] = []
    for method, path, strings in _json_writes(schema, ids):
        api = _first_past_authorization(clients, method, path)
        if api is None:
            continue
        if "nested body" in kinds:
            sent += 1
            status = _send_raw(api, method, path, NESTED_BODY)
            if status >= 500:
                errors.append(f"nested body: {method} {path} -> {status}")
        for field in strings:
            fields += 1
            values = {kind: value for kind, value in NOT_STRINGS.items() if "not a string" in kinds}
            if "lone surrogate" in kinds:
                values["lone surrogate"] = SURROGATE
            for kind, value in values.items():
                sent += 1
                outcome = harness.send(api, method, path, {field: value})
                if outcome.status >= 500:
                    errors.append(f"{kind}: {method} {path} {field} -> {outcome.status}")
    return sent, fields, errors


@pytest.mark.django_db
def test_no_string_field_answers_5xx_to_a_value_of_another_type(api, world, no_throttles, fake_wechat, figures):
    sent, fields, errors = _sweep(api, world, {"not a string"})
    figures["hostile input"] = (
        f"{sent} requests with a number, boolean, list or object for {fields} string fields, {len(errors)} 5xx"
    )
    assert not errors, "\n".join(errors)


@pytest.mark.django_db
def test_nested_bodies_and_lone_surrogates_answer_4xx(api, world, no_throttles, fake_wechat, figures):
    sent, fields, errors = _sweep(api, world, KNOWN_ELSEWHERE)
    figures["hostile input, nested JSON and lone surrogates"] = (
        f"{sent} requests over {fields} string fields and every JSON write, {len(errors)} 5xx"
    )
    assert not errors, "\n".join(errors)


# The socket protocol

HOSTILE_VALUES: list[object] = [
    None,
    True,
    -1,
    0,
    1.5,
    2**63,
    2**70,
    -(2**70),
    float("1e308"),
    "1",
    "",
    SURROGATE,
    "x" * 3000,
    [],
    [1],
    {},
    {"id": 1},
    json.loads("[" * 900 + "]" * 900),
]
FRAME_TYPES = ("ping", "resume", "watch", "unwatch", "no-such-type")
FIELDS = {"resume": "after_id", "watch": "activity_id", "unwatch": "activity_id"}


def _frames() -> list[str]:
    frames: list[str] = []
    for kind in FRAME_TYPES:
        field = FIELDS.get(kind, "value")
        for value in HOSTILE_VALUES:
            frame = json.dumps({"type": kind, field: value})
            if len(frame) <= 4096:
                frames.append(frame)
    for value in HOSTILE_VALUES:
        frames.append(json.dumps({"type": value}))
        frames.append(json.dumps(value))
    frames += [" ", "{", "[" * 3000 + "]" * 3000, "\ud800", '"\\ud800"', "null", "NaN", "1e999"]
    return [frame for frame in frames if len(frame) <= 4096]


@pytest.mark.django_db(transaction=True)
async def test_every_frame_type_with_hostile_values_keeps_the_socket(settings, figures):
    socket = await socket_of_new_user(settings)
    frames = _frames()
    crashes: list[str] = []
    try:
        accepted, _ = await socket.connect()
        assert accepted
        assert (await socket.receive_json_from())["type"] == "hello"
        for frame in frames:
            await socket.send_to(text_data=frame)
            # Every frame is answered by its own message: an error, or pong / watching / unwatched /
            # resumed for the few hostile values that are in fact valid.
            answers = []
            while True:
                message = await socket.receive_output(5)
                if message["type"] == "websocket.close":
                    crashes.append(f"{frame[:80]!r}: closed with {message.get('code')}")
                    break
                answer = json.loads(message["text"])
                answers.append(answer)
                if answer["type"] in ("error", "pong", "watching", "unwatched", "resumed"):
                    break
            if crashes:
                break
        else:
            await socket.send_json_to({"type": "ping"})
            assert await socket.receive_json_from() == {"type": "pong"}
    finally:
        await socket.disconnect()
    figures["socket fuzz"] = f"{len(frames)} hostile frames over {len(FRAME_TYPES)} frame types, {len(crashes)} closed"
    assert not crashes, "\n".join(crashes)


# WeChat's push endpoint

PUSH = "/api/v1/wechat/push/"


def _signed(token: str) -> str:
    # Now, and a fresh nonce each time: a replayed or stale push is refused before its body is read.
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    query = {"signature": push_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return f"{PUSH}?{urlencode(query)}"


def _push_events(trace_id: str) -> list[object]:
    events: list[object] = [None, [], "x", 1, {"Event": SURROGATE}]
    for value in HOSTILE_VALUES:
        events += [
            {"Event": "wxa_media_check", "trace_id": value},
            {"Event": "wxa_media_check", "trace_id": trace_id, "errcode": value},
            {"Event": "wxa_media_check", "trace_id": trace_id, "result": value},
            {"Event": "wxa_media_check", "trace_id": trace_id, "result": {"suggest": value, "label": 1}},
            {"Event": "wxa_media_check", "trace_id": trace_id, "result": {"suggest": "pass", "label": value}},
            {"Event": "wxa_media_check", "trace_id": trace_id, "appid": value},
            {"Event": value, "trace_id": trace_id},
        ]
    return events


@pytest.mark.django_db
def test_signed_pushes_with_hostile_values_never_answer_5xx(api, settings, figures):
    settings.WECHAT_PUSH_TOKEN = "push-token-for-the-fuzz"
    user = factories.UserFactory()
    check = ContentCheck.objects.create(
        upload=image(user),
        target="members.demand",
        object_id=1,
        field="photos",
        kind=ContentCheck.Kind.MEDIA,
        author=user,
        trace_id="trace-fuzz",
        status=ContentCheck.Status.PENDING,
    )
    events = _push_events(check.trace_id)
    raw_bodies = [b"", b"{", b"\xff\xfe", json.dumps({"Event": "wxa_media_check", "errcode": 1e999}).encode()]
    errors: list[str] = []
    sent = 0
    for body in [json.dumps(event).encode() for event in events] + raw_bodies:
        sent += 1
        from django.db import transaction

        status = 0
        try:
            with transaction.atomic():
                status = api.generic(
                    "POST", _signed(settings.WECHAT_PUSH_TOKEN), body, content_type="application/json"
                ).status_code
                raise harness._Rollback
        except harness._Rollback:
            pass
        if status >= 500:
            errors.append(f"{body[:120]!r} -> {status}")
    figures["push fuzz"] = f"{sent} signed pushes with hostile values, {len(errors)} 5xx"
    assert not errors, "\n".join(errors)
