"""Request bodies the security checks send: a write's documented inputs, and a body it can succeed with.

Shared by the authorization matrix (a write is judged with a body valid for its owner, so a 400
cannot pass for "past authorization") and the mass-assignment check (the plain request that an
extra field is compared against).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from backend.members.models import MemberRegistration, PrivacyConsent

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


def write_body(endpoint: Endpoint, method: str, schema: dict, owner: APIClient, world) -> dict:
    """The body the authorization matrix sends with a write: valid for the write's owner on side A.

    `owner` is the client of the role the write is for: a create's fields are read back as it reads them.
    """
    inputs = documented_inputs(schema, endpoint, method) or set()
    model = harness.view_model(endpoint.view)
    target = world.a.object_for(model) if "pk" in endpoint.kwargs and model is not None else None

    def base() -> dict:
        return base_body(endpoint, method, model, target, inputs, owner, world)

    build = OPERATION_BODIES.get((method, endpoint.key))
    return build(world, base) if build is not None else base()


# Writes whose valid body cannot be read back from an object of side A: one builder per operation,
# given the world and the generic body (a callable: read back only when asked for). A builder may
# write what its body needs (an upload, an object in the state the action wants): the matrix runs
# each write in a savepoint of its own, so the next operation finds the world as it was built.
Builder = Callable[[Any, Callable[[], dict]], dict]


class Fresh:
    """A value made anew for each request: a WeChat code is good once, as WeChat's own are."""

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def fresh(body: object) -> object:
    """The body as one request sends it: each `Fresh` value made."""
    if not isinstance(body, dict):
        return body
    return {k: v.make() if isinstance(v, Fresh) else v for k, v in body.items()}


_codes = itertools.count()
PASSWORD = "pass-Word-123"  # every factory-made account's (tests/factories.py)
NOTICE_TEMPLATE = "notice-default"  # settings.WECHAT_SUBSCRIBE_TEMPLATES["default"]


def _days(n: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=n)


def _date(n: float) -> str:
    return timezone.localdate(_days(n)).isoformat()


def _a(w, model: str) -> Any:
    """Side A's object of the model named "app.Model", the one the detail routes act on."""
    return w.a.object_for(apps.get_model(model))


def fixed(body: dict) -> Builder:
    return lambda w, base: dict(body)


def in_state(model: str, body: dict, **fields: object) -> Builder:
    """Side A's object of `model` put in the state the action needs (callables are called), then `body`.

    A row update: the world's instance keeps its id, and the savepoint takes the change away.
    """

    def build(w, base) -> dict:
        values = {k: v(w) if callable(v) else v for k, v in fields.items()}
        instance = _a(w, model)
        type(instance).objects.filter(pk=instance.pk).update(**values)
        return dict(body)

    return build


def now(w) -> dt.datetime:
    return timezone.now()


def past_waiting(days: int) -> Callable[[Any], dt.datetime]:
    """`days` before the moment staff may confirm a done demand for its requester."""
    from backend.members.services import auto_confirm_after

    return lambda w: timezone.now() - auto_confirm_after() - dt.timedelta(days=days)


def user(role: str) -> Callable[[Any], Any]:
    return lambda w: w.a.users[role]


def _position(w, *, checked_in: bool) -> dict:
    """At the venue with a current code, for staff enrolled (and already checked in, to check out)."""
    from backend.activities.models import CheckIn
    from tests.activities.factories import enrol, position_body

    activity, staff = _a(w, "activities.Activity"), w.a.users["staff"]
    enrol(activity, staff)
    if checked_in:
        at_venue = {"client_id": uuid.uuid4(), "distance_m": 20, "inside": True}
        CheckIn.objects.create(activity=activity, user=staff, kind=CheckIn.Kind.IN, at=timezone.now(), **at_venue)
    return position_body(activity)


def _moved_terms(base: Callable[[], dict], years: int = 10) -> dict:
    """A committee's body with its term `years` on, clear of the one side A registered."""
    body = base()
    for key in ("term_start", "term_end"):
        if body.get(key):
            day = dt.date.fromisoformat(body[key])
            body[key] = day.replace(year=day.year + years).isoformat()
    return body


def _consenting() -> dict:
    return {"consent": True, "privacy_notice_version": settings.PRIVACY_NOTICE_VERSION}


def _consent_withdrawal(w, base) -> dict:
    """Staff withdrawing a consent they gave."""
    PrivacyConsent.objects.create(
        user=w.a.users["staff"], purpose=PrivacyConsent.Purpose.PARTY_MEMBER, version=settings.PRIVACY_NOTICE_VERSION
    )
    return {"purpose": PrivacyConsent.Purpose.PARTY_MEMBER}


def _revocation(w, base) -> dict:
    """Side A's pending registration approved first: only an approved one can be revoked."""
    from backend.members import services

    pending = MemberRegistration.objects.get(pk=_a(w, "members.MemberRegistration").pk)
    services.approve_registration(registration=pending, by=w.a.users["staff"])
    return {"reason": "迁出本社区"}


def _record_times() -> dict:
    """Two hours, two days ago: clear of side A's records (20 and 5 days ago)."""
    return {"started_at": _days(-2).isoformat(), "ended_at": (_days(-2) + dt.timedelta(hours=2)).isoformat()}


def _refresh(w, base) -> dict:
    from rest_framework_simplejwt.tokens import RefreshToken

    return {"refresh": str(RefreshToken.for_user(w.a.users["staff"]))}


def _unit_registration(w, base) -> dict:
    """A unit not yet registered anywhere (side A's unit already is, with community A)."""
    from tests import factories

    return {
        "organization": factories.UnitOrganizationFactory().pk,
        "community": w.a.community.pk,
        "contact_name": "联系人",
        "contact_phone": "13600000002",
    }


def _credit_code(w, base) -> dict:
    from tests.red_property.factories import credit_code

    return {**base(), "credit_code": credit_code()}


def _photos(w, base) -> dict:
    from tests.activities.factories import image_upload

    return {"uploads": [image_upload(w.a.users["staff"]).pk]}


MINUTES = fixed({"topics": "学习党章", "decisions": "按时缴纳党费"})
PLAN_SUBMITTED = {"status": "submitted", "submitted_at": now}

OPERATION_BODIES: dict[tuple[str, str], Builder] = {
    ("POST", "accounts/roles/"): lambda w, base: {
        "phone": w.a.users["resident"].phone,
        "role": "grid_worker",
        "grid": _a(w, "communities.Grid").pk,
    },
    ("POST", "activities/{pk}/attendance/"): lambda w, base: {
        "user": w.a.users["member"].pk,
        "kind": "in",
        "reason": "无智能手机",
    },
    ("POST", "activities/{pk}/check-in/"): lambda w, base: _position(w, checked_in=False),
    ("POST", "activities/{pk}/check-out/"): lambda w, base: _position(w, checked_in=True),
    ("POST", "activities/{pk}/minutes/"): MINUTES,
    ("PUT", "activities/{pk}/minutes/"): MINUTES,
    ("POST", "activities/{pk}/photos/"): _photos,
    ("POST", "activities/{pk}/publish/"): in_state("activities.Activity", {}, status="draft"),
    ("POST", "appeals/{pk}/assign/"): lambda w, base: {"assignee": w.a.users["grid_worker"].pk, "content": "请核实"},
    ("POST", "appeals/{pk}/rate/"): in_state(
        "appeals.Appeal", {"score": 5, "comment": "满意"}, status="resolved", resolved_at=now
    ),
    ("POST", "appeals/{pk}/reply/"): in_state(
        "appeals.Appeal", {"content": "正在处理"}, status="accepted", accepted_at=now
    ),
    ("POST", "appeals/{pk}/resolve/"): in_state(
        "appeals.Appeal", {"content": "已处理"}, status="replied", accepted_at=now, replied_at=now
    ),
    ("POST", "auth/jwt/create/"): lambda w, base: {"phone": w.a.users["staff"].phone, "password": PASSWORD},
    ("POST", "auth/jwt/refresh/"): _refresh,
    ("POST", "auth/users/me/deletion/"): fixed({"confirm": True, "current_password": PASSWORD}),
    ("POST", "auth/wechat/login/"): fixed({"code": Fresh(lambda: f"matrix:{next(_codes)}")}),
    ("POST", "auth/wechat/phone/"): fixed({"code": Fresh(lambda: f"phone-13912345671:{next(_codes)}")}),
    ("POST", "brands/deadlines/"): lambda w, base: {
        "street": w.a.street.pk,
        "title": "品牌方案",
        "due_date": _date(400),  # the year after side A's deadline
        "communities": [w.a.community.pk],
    },
    # A new version once the last came back (a draft in hand is edited instead).
    ("POST", "brands/{brand_pk}/plans/"): in_state(
        "brands.BrandPlan", {"content": "年度品牌方案"}, status="returned", submitted_at=now, reviewed_at=now
    ),
    ("POST", "brands/{brand_pk}/plans/{pk}/approve/"): in_state("brands.BrandPlan", {}, **PLAN_SUBMITTED),
    ("POST", "brands/{brand_pk}/plans/{pk}/return/"): in_state(
        "brands.BrandPlan", {"comments": "请补充预算"}, **PLAN_SUBMITTED
    ),
    ("POST", "brands/{pk}/publish/"): in_state("brands.Brand", {}, status="draft"),
    ("POST", "demands/{pk}/assign/"): lambda w, base: {"member": _a(w, "members.PartyMember").pk, "note": "请跟进"},
    # Staff confirm for the requester once the waiting period has passed since it was done.
    ("POST", "demands/{pk}/confirm/"): in_state(
        "members.Demand",
        {"note": "已确认"},
        status="done",
        claimed_by=user("member"),
        claimed_at=past_waiting(days=2),
        done_at=past_waiting(days=1),
    ),
    ("POST", "demands/{pk}/done/"): in_state(
        "members.Demand", {"note": "已完成"}, status="claimed", claimed_by=user("member"), claimed_at=now
    ),
    ("POST", "members/consents/withdraw/"): _consent_withdrawal,
    ("POST", "members/points/corrections/"): lambda w, base: {
        "member": _a(w, "members.PartyMember").pk,
        "points": 5,
        "reason": "补录",
    },
    # Staff filing their own 双报到 with side A's branch.
    ("POST", "members/registrations/"): lambda w, base: {
        "community": w.a.community.pk,
        "organization": _a(w, "communities.PartyOrganization").pk,
        "real_name": "王红",
        "phone": "13912345670",
        "status": "full",
        **_consenting(),
    },
    ("POST", "members/registrations/{pk}/revoke/"): _revocation,
    ("POST", "members/unit-registrations/"): _unit_registration,
    ("POST", "notices/subscriptions/"): fixed({"accepted": [NOTICE_TEMPLATE]}),
    ("POST", "owners-committees/"): lambda w, base: _moved_terms(base),
    ("POST", "property-companies/"): _credit_code,
    ("POST", "red-property/assessment-standards/"): lambda w, base: {**base(), "year": base()["year"] + 1},
    ("POST", "red-property/assessments/"): lambda w, base: {**base(), "year": base()["year"] - 1},
    ("POST", "red-property/self-governance/"): lambda w, base: _moved_terms(base),
    ("POST", "residents-committees/"): lambda w, base: _moved_terms(base),
    # Another period than side A's certificate, still holding its approved record.
    ("POST", "volunteers/certificates/"): lambda w, base: {
        **base(),
        "period_start": _date(-30),
        "period_end": _date(-1),
    },
    ("POST", "volunteers/me/"): lambda w, base: {"community": w.a.community.pk, "real_name": "王红", **_consenting()},
    ("POST", "volunteers/records/"): lambda w, base: {
        "community": w.a.community.pk,
        "content": "社区环境整治",
        "client_id": str(uuid.uuid4()),
        **_record_times(),
    },
    ("POST", "volunteers/records/{pk}/corrections/"): lambda w, base: {**_record_times(), "reason": "时间记错"},
}
