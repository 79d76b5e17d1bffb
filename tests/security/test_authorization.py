"""The authorization matrix: every API endpoint × every role × every method it answers.

Endpoints come from the URL conf (tests/security/urlconf.py), so a new route cannot escape: one
missing from EXPECTED fails with a message saying which row to add. Each cell is sent inside a
savepoint that is rolled back, so every cell starts from the same data (tests/security/world.py:
objects in two communities of two streets; the detail routes ask for community A's objects).
Each write's cells share a savepoint of their own too, since building its body may write (an
object put in the state the action needs): rows are read as the operation's body left them.

Each row lists, in the order of ROLES, what each role must get:
  "ok"   past authorization: each write is sent with a body valid for its owner (tests/security/
         bodies.py), so for the owner "ok" is 2xx, and for another role let in 2xx, 409 (the object's
         state) or a 400 refusing a reference outside its scope; an owner refused its body fails
         the test (the body's builder, or the application, is wrong)
  "401" / "403" / "404" / "405"   that denial exactly (404 where the object lies outside the scope)
On every denial the database must be as it was: all tables' row counts, and when the request sent
any write statement, every table's rows hashed (tests/security/dbstate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.db import transaction

from . import bodies, dbstate, harness
from .urlconf import api_endpoints
from .world import ROLES

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# ROLES: anonymous, resident, member, volunteer, grid_worker, staff (community A's secretary),
# staff_other (community B's), street_admin (street 1's), street_admin_other (street 2's), unit_liaison.
PUBLIC = "ok ok ok ok ok ok ok ok ok ok"
SIGNED_IN = "401 ok ok ok ok ok ok ok ok ok"
SIGNED_IN_NO_PUT = "401 405 405 405 405 405 405 405 405 405"
# Staff-only lists: every staff member gets 200 (their own scope's rows); other roles 403.
ANY_STAFF = "401 403 403 403 403 ok ok ok ok 403"
STAFF_NO_PUT = "401 403 403 403 403 405 405 405 405 403"
# A staff-only object: staff of its community and street act on it; other staff get 404.
STAFF_ONLY_IN_SCOPE = "401 403 403 403 403 ok 404 ok 404 403"
# An object only staff in scope can see at all: everyone else gets 404, as if it did not exist.
STAFF_IN_SCOPE = "401 404 404 404 404 ok 404 ok 404 404"
ANY_STREET_ADMIN = "401 403 403 403 403 403 403 ok ok 403"
STREET_ADMIN_NO_PUT = "401 403 403 403 403 403 403 405 405 403"
STREET_ADMIN_IN_SCOPE = "401 403 403 403 403 403 403 ok 404 403"

EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "api/schema/"): PUBLIC,
    ("GET", "api/docs/"): PUBLIC,
    ("GET", "api/redoc/"): PUBLIC,
    # reports: read-only figures.
    ("GET", "brands/{pk}/figures/"): PUBLIC,
    ("GET", "communities/{pk}/coverage/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "communities/{pk}/coverage/export/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "dashboard/"): ANY_STAFF,
    ("GET", "members/reports/"): "401 403 403 403 403 ok ok ok ok ok",
    ("GET", "members/reports/export/"): "401 403 403 403 403 ok ok ok ok ok",
    ("GET", "members/reports/sent/"): "401 403 403 403 403 ok ok ok ok ok",
    ("GET", "streets/{pk}/brand-board/"): STREET_ADMIN_IN_SCOPE,
    ("GET", "streets/{pk}/brand-board/export/"): STREET_ADMIN_IN_SCOPE,
    # A street's figures: its own admin only; community staff see no street (404).
    ("GET", "streets/{pk}/coverage/"): "401 403 403 403 403 404 404 ok 404 403",
    ("GET", "streets/{pk}/coverage/export/"): "401 403 403 403 403 404 404 ok 404 403",
    ("GET", "accounts/roles/"): ANY_STAFF,
    ("POST", "accounts/roles/"): ANY_STAFF,
    ("DELETE", "accounts/roles/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "accounts/roles/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "activities/"): SIGNED_IN,
    ("POST", "activities/"): ANY_STAFF,
    ("GET", "activities/leave-requests/"): SIGNED_IN,
    ("GET", "activities/leave-requests/{pk}/"): "401 ok 404 404 404 ok 404 ok 404 404",
    ("POST", "activities/leave-requests/{pk}/approve/"): "401 403 404 404 404 ok 404 ok 404 404",
    ("POST", "activities/leave-requests/{pk}/reject/"): "401 403 404 404 404 ok 404 ok 404 404",
    ("GET", "activities/{pk}/"): SIGNED_IN,
    ("PATCH", "activities/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "activities/{pk}/"): STAFF_IN_SCOPE,
    ("GET", "activities/{pk}/attendance/"): STAFF_IN_SCOPE,
    ("POST", "activities/{pk}/attendance/"): STAFF_IN_SCOPE,
    ("GET", "activities/{pk}/attendance/export/"): STAFF_IN_SCOPE,
    ("POST", "activities/{pk}/cancel/"): STAFF_IN_SCOPE,
    ("POST", "activities/{pk}/check-in/"): SIGNED_IN,
    ("POST", "activities/{pk}/check-out/"): SIGNED_IN,
    ("GET", "activities/{pk}/checkin-code/"): STAFF_IN_SCOPE,
    ("DELETE", "activities/{pk}/enrollment/"): SIGNED_IN,
    ("POST", "activities/{pk}/enrollment/"): "401 ok ok ok ok ok 403 ok 403 403",
    ("GET", "activities/{pk}/leave/"): SIGNED_IN,
    ("POST", "activities/{pk}/leave/"): "401 ok ok ok ok ok 403 ok 403 403",
    # The minutes of a meeting: its staff, and the members enrolled in it.
    ("GET", "activities/{pk}/minutes/"): "401 404 ok 404 404 ok 404 ok 404 404",
    ("POST", "activities/{pk}/minutes/"): STAFF_IN_SCOPE,
    ("PUT", "activities/{pk}/minutes/"): STAFF_IN_SCOPE,
    ("GET", "activities/{pk}/photos/"): SIGNED_IN,
    ("POST", "activities/{pk}/photos/"): SIGNED_IN,
    ("POST", "activities/{pk}/publish/"): STAFF_IN_SCOPE,
    ("GET", "appeals/"): SIGNED_IN,
    ("POST", "appeals/"): SIGNED_IN,
    ("GET", "appeals/overdue/"): "401 403 403 403 ok ok ok ok ok 403",
    ("GET", "appeals/rates/"): ANY_STAFF,
    ("GET", "appeals/{pk}/"): "401 ok 404 404 ok ok 404 ok 404 404",
    ("POST", "appeals/{pk}/accept/"): "401 403 404 404 ok ok 404 ok 404 404",
    # Assigning is the community staff's: the resident and the grid worker see the appeal, and hear 403
    # whatever the body holds.
    ("POST", "appeals/{pk}/assign/"): "401 403 404 404 403 ok 404 ok 404 404",
    ("POST", "appeals/{pk}/rate/"): "401 ok 404 404 403 403 404 403 404 404",
    ("POST", "appeals/{pk}/reject/"): "401 403 404 404 ok ok 404 ok 404 404",
    ("POST", "appeals/{pk}/reply/"): "401 403 404 404 ok ok 404 ok 404 404",
    ("POST", "appeals/{pk}/resolve/"): "401 403 404 404 ok ok 404 ok 404 404",
    ("POST", "auth/jwt/create/"): PUBLIC,
    ("POST", "auth/jwt/refresh/"): PUBLIC,
    ("GET", "auth/users/me/"): SIGNED_IN,
    ("PATCH", "auth/users/me/"): SIGNED_IN,
    ("POST", "auth/users/me/deletion/"): SIGNED_IN,
    ("GET", "auth/users/me/export/"): SIGNED_IN,
    ("POST", "auth/wechat/login/"): PUBLIC,
    ("POST", "auth/wechat/phone/"): SIGNED_IN,
    ("GET", "brands/"): PUBLIC,
    ("POST", "brands/"): ANY_STAFF,
    ("GET", "brands/deadlines/"): ANY_STREET_ADMIN,
    ("POST", "brands/deadlines/"): ANY_STREET_ADMIN,
    ("DELETE", "brands/deadlines/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("GET", "brands/deadlines/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("PATCH", "brands/deadlines/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("PUT", "brands/deadlines/{pk}/"): STREET_ADMIN_NO_PUT,
    ("GET", "brands/{brand_pk}/plans/"): STAFF_IN_SCOPE,
    ("POST", "brands/{brand_pk}/plans/"): "401 404 404 404 404 ok 404 403 404 404",
    ("DELETE", "brands/{brand_pk}/plans/{pk}/"): "401 404 404 404 404 ok 404 403 404 404",
    ("GET", "brands/{brand_pk}/plans/{pk}/"): STAFF_IN_SCOPE,
    ("PATCH", "brands/{brand_pk}/plans/{pk}/"): "401 404 404 404 404 ok 404 403 404 404",
    ("PUT", "brands/{brand_pk}/plans/{pk}/"): SIGNED_IN_NO_PUT,
    ("POST", "brands/{brand_pk}/plans/{pk}/approve/"): "401 404 404 404 404 403 404 ok 404 404",
    ("POST", "brands/{brand_pk}/plans/{pk}/return/"): "401 404 404 404 404 403 404 ok 404 404",
    ("POST", "brands/{brand_pk}/plans/{pk}/submit/"): "401 404 404 404 404 ok 404 403 404 404",
    ("DELETE", "brands/{pk}/"): "401 403 403 403 403 ok 403 ok 403 403",
    ("GET", "brands/{pk}/"): PUBLIC,
    ("PATCH", "brands/{pk}/"): "401 403 403 403 403 ok 403 ok 403 403",
    ("PUT", "brands/{pk}/"): SIGNED_IN_NO_PUT,
    # Sent on a draft, which only its staff see.
    ("POST", "brands/{pk}/publish/"): STAFF_IN_SCOPE,
    ("POST", "brands/{pk}/retire/"): "401 403 403 403 403 ok 403 ok 403 403",
    ("GET", "certificates/verify/{number}/"): PUBLIC,
    ("GET", "communities/"): PUBLIC,
    ("GET", "communities/{pk}/"): PUBLIC,
    ("GET", "demands/"): SIGNED_IN,
    ("POST", "demands/"): SIGNED_IN,
    ("GET", "demands/{pk}/"): "401 ok ok 404 404 ok 404 ok 404 ok",
    # Assigning is the community staff's: whoever else sees the demand hears 403 whatever the body holds.
    ("POST", "demands/{pk}/assign/"): "401 403 403 404 404 ok 404 ok 404 403",
    ("POST", "demands/{pk}/cancel/"): "401 ok 403 404 404 ok 404 ok 404 403",
    ("POST", "demands/{pk}/claim/"): "401 403 ok 404 404 403 404 403 404 403",
    # Sent on a done demand, which its requester confirms (staff for them once the waiting period has
    # passed): the member who did it sees it and hears 403, a unit no longer sees it.
    ("POST", "demands/{pk}/confirm/"): "401 ok 403 404 404 ok 404 ok 404 404",
    # Sent on a demand the member claimed: its requester may not complete it, a unit no longer sees it.
    ("POST", "demands/{pk}/done/"): "401 403 ok 404 404 ok 404 ok 404 404",
    ("GET", "estates/"): SIGNED_IN,
    ("POST", "estates/"): ANY_STAFF,
    ("GET", "estates/{pk}/"): SIGNED_IN,
    ("PATCH", "estates/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "estates/{pk}/"): SIGNED_IN_NO_PUT,
    ("GET", "grids/"): PUBLIC,
    ("GET", "grids/{pk}/"): PUBLIC,
    ("GET", "places/"): PUBLIC,
    ("GET", "places/{pk}/"): PUBLIC,
    ("GET", "honors/"): SIGNED_IN,
    ("POST", "honors/"): ANY_STREET_ADMIN,
    ("DELETE", "honors/{pk}/"): "401 403 403 403 403 403 403 ok 403 403",
    ("GET", "honors/{pk}/"): SIGNED_IN,
    ("PATCH", "honors/{pk}/"): "401 403 403 403 403 403 403 ok 403 403",
    ("PUT", "honors/{pk}/"): STREET_ADMIN_NO_PUT,
    ("GET", "joint-meetings/"): ANY_STAFF,
    ("POST", "joint-meetings/"): ANY_STAFF,
    ("GET", "joint-meetings/follow-ups/"): ANY_STAFF,
    ("POST", "joint-meetings/follow-ups/"): ANY_STAFF,
    ("GET", "joint-meetings/follow-ups/overdue/"): ANY_STAFF,
    ("DELETE", "joint-meetings/follow-ups/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "joint-meetings/follow-ups/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "joint-meetings/follow-ups/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "joint-meetings/follow-ups/{pk}/"): STAFF_NO_PUT,
    ("DELETE", "joint-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "joint-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "joint-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "joint-meetings/{pk}/"): STAFF_NO_PUT,
    ("GET", "members/"): "401 403 403 403 403 ok ok ok ok ok",
    ("GET", "members/consents/"): SIGNED_IN,
    ("POST", "members/consents/withdraw/"): SIGNED_IN,
    ("GET", "members/me/"): SIGNED_IN,
    ("GET", "members/points/"): SIGNED_IN,
    ("POST", "members/points/corrections/"): ANY_STAFF,
    ("GET", "members/points/ranking/"): SIGNED_IN,
    ("GET", "members/points/rules/"): SIGNED_IN,
    ("GET", "members/posts/"): SIGNED_IN,
    ("POST", "members/posts/"): ANY_STAFF,
    ("GET", "members/posts/{pk}/"): SIGNED_IN,
    ("PATCH", "members/posts/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "members/posts/{pk}/"): SIGNED_IN_NO_PUT,
    ("POST", "members/posts/{pk}/claim/"): "401 403 ok 403 403 403 403 403 403 403",
    ("GET", "members/posts/{pk}/holders/"): "401 403 403 403 403 ok 403 ok 403 403",
    ("POST", "members/posts/{pk}/leave/"): SIGNED_IN,
    ("GET", "members/privacy-notice/"): SIGNED_IN,
    ("GET", "members/registrations/"): SIGNED_IN,
    ("POST", "members/registrations/"): SIGNED_IN,
    ("GET", "members/registrations/{pk}/"): STAFF_IN_SCOPE,
    ("POST", "members/registrations/{pk}/approve/"): STAFF_IN_SCOPE,
    ("POST", "members/registrations/{pk}/reject/"): STAFF_IN_SCOPE,
    ("POST", "members/registrations/{pk}/revoke/"): STAFF_IN_SCOPE,
    ("POST", "members/registrations/{pk}/withdraw/"): "401 404 404 404 404 403 404 403 404 404",
    ("GET", "members/unit-registrations/"): SIGNED_IN,
    ("POST", "members/unit-registrations/"): SIGNED_IN,
    ("DELETE", "members/unit-registrations/{pk}/"): STAFF_IN_SCOPE,
    ("GET", "members/unit-registrations/{pk}/"): STAFF_IN_SCOPE,
    ("PATCH", "members/unit-registrations/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "members/unit-registrations/{pk}/"): SIGNED_IN_NO_PUT,
    ("POST", "members/unit-registrations/{pk}/approve/"): STAFF_IN_SCOPE,
    ("POST", "members/unit-registrations/{pk}/reject/"): STAFF_IN_SCOPE,
    ("GET", "members/{pk}/"): "401 404 ok 404 404 ok 404 ok 404 404",
    ("GET", "notices/"): SIGNED_IN,
    ("POST", "notices/"): ANY_STAFF,
    ("GET", "notices/subscriptions/"): SIGNED_IN,
    ("POST", "notices/subscriptions/"): SIGNED_IN,
    ("GET", "notices/unread-count/"): SIGNED_IN,
    ("GET", "notices/{pk}/"): "401 ok ok 404 ok ok 404 ok 404 404",
    ("POST", "notices/{pk}/read/"): "401 ok ok 404 ok ok 404 ok 404 404",
    ("GET", "notices/{pk}/receipts/"): STAFF_IN_SCOPE,
    ("GET", "organizations/"): SIGNED_IN,
    ("GET", "organizations/{pk}/"): SIGNED_IN,
    ("GET", "owners-committees/"): ANY_STAFF,
    ("POST", "owners-committees/"): ANY_STAFF,
    ("DELETE", "owners-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "owners-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "owners-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "owners-committees/{pk}/"): STAFF_NO_PUT,
    ("GET", "property-companies/"): ANY_STAFF,
    ("POST", "property-companies/"): ANY_STAFF,
    ("DELETE", "property-companies/{pk}/"): "401 403 403 403 403 403 404 ok 404 403",
    ("GET", "property-companies/{pk}/"): ANY_STAFF,
    ("PATCH", "property-companies/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "property-companies/{pk}/"): STAFF_NO_PUT,
    ("GET", "red-property/assessment-items/"): ANY_STAFF,
    ("POST", "red-property/assessment-items/"): ANY_STREET_ADMIN,
    ("DELETE", "red-property/assessment-items/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("GET", "red-property/assessment-items/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/assessment-items/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("PUT", "red-property/assessment-items/{pk}/"): STREET_ADMIN_NO_PUT,
    ("GET", "red-property/assessment-standards/"): ANY_STAFF,
    ("POST", "red-property/assessment-standards/"): ANY_STREET_ADMIN,
    ("DELETE", "red-property/assessment-standards/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("GET", "red-property/assessment-standards/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/assessment-standards/{pk}/"): STREET_ADMIN_IN_SCOPE,
    ("PUT", "red-property/assessment-standards/{pk}/"): STREET_ADMIN_NO_PUT,
    ("GET", "red-property/assessments/"): ANY_STAFF,
    ("POST", "red-property/assessments/"): ANY_STAFF,
    ("DELETE", "red-property/assessments/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "red-property/assessments/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/assessments/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "red-property/assessments/{pk}/"): STAFF_NO_PUT,
    ("GET", "red-property/estates/"): ANY_STAFF,
    ("GET", "red-property/estates/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/estates/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "red-property/estates/{pk}/"): STAFF_NO_PUT,
    ("GET", "red-property/self-governance-meetings/"): ANY_STAFF,
    ("POST", "red-property/self-governance-meetings/"): ANY_STAFF,
    ("DELETE", "red-property/self-governance-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "red-property/self-governance-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/self-governance-meetings/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "red-property/self-governance-meetings/{pk}/"): STAFF_NO_PUT,
    ("GET", "red-property/self-governance/"): ANY_STAFF,
    ("POST", "red-property/self-governance/"): ANY_STAFF,
    ("DELETE", "red-property/self-governance/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "red-property/self-governance/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "red-property/self-governance/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "red-property/self-governance/{pk}/"): STAFF_NO_PUT,
    ("GET", "residents-committees/"): ANY_STAFF,
    ("POST", "residents-committees/"): ANY_STAFF,
    ("DELETE", "residents-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("GET", "residents-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PATCH", "residents-committees/{pk}/"): STAFF_ONLY_IN_SCOPE,
    ("PUT", "residents-committees/{pk}/"): STAFF_NO_PUT,
    ("GET", "resources/"): SIGNED_IN,
    ("POST", "resources/"): "401 403 ok 403 403 ok 403 ok 403 403",
    ("DELETE", "resources/{pk}/"): STAFF_IN_SCOPE,
    ("GET", "resources/{pk}/"): SIGNED_IN,
    ("PATCH", "resources/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "resources/{pk}/"): SIGNED_IN_NO_PUT,
    ("GET", "service-projects/"): SIGNED_IN,
    ("POST", "service-projects/"): ANY_STAFF,
    ("GET", "service-projects/{pk}/"): SIGNED_IN,
    ("PATCH", "service-projects/{pk}/"): STAFF_IN_SCOPE,
    ("PUT", "service-projects/{pk}/"): SIGNED_IN_NO_PUT,
    ("GET", "streets/"): PUBLIC,
    ("GET", "streets/{pk}/"): PUBLIC,
    ("POST", "uploads/"): SIGNED_IN,
    # WeChat's message push: only a request signed with WECHAT_PUSH_TOKEN gets past, whoever sends it.
    ("GET", "wechat/push/"): "403 403 403 403 403 403 403 403 403 403",
    ("POST", "wechat/push/"): "403 403 403 403 403 403 403 403 403 403",
    ("GET", "volunteers/"): SIGNED_IN,
    ("GET", "volunteers/certificates/"): SIGNED_IN,
    ("POST", "volunteers/certificates/"): "401 403 403 403 403 ok 403 ok 403 403",
    ("GET", "volunteers/certificates/{pk}/"): "401 404 404 ok 404 ok 404 ok 404 404",
    ("GET", "volunteers/certificates/{pk}/pdf/"): "401 404 404 ok 404 ok 404 ok 404 404",
    ("POST", "volunteers/certificates/{pk}/revoke/"): STAFF_IN_SCOPE,
    ("GET", "volunteers/leaderboard/"): SIGNED_IN,
    ("GET", "volunteers/me/"): "401 404 404 ok 404 404 404 404 404 404",
    ("PATCH", "volunteers/me/"): "401 404 404 ok 404 404 404 404 404 404",
    ("POST", "volunteers/me/"): SIGNED_IN,
    ("GET", "volunteers/records/"): SIGNED_IN,
    # Records are filed by volunteers for themselves: anyone else is refused before the body is read.
    ("POST", "volunteers/records/"): "401 403 403 ok 403 403 403 403 403 403",
    ("GET", "volunteers/records/export/"): SIGNED_IN,
    ("GET", "volunteers/records/{pk}/"): "401 404 404 ok 404 ok 404 ok 404 404",
    ("POST", "volunteers/records/{pk}/approve/"): STAFF_IN_SCOPE,
    ("GET", "volunteers/records/{pk}/corrections/"): "401 404 404 ok 404 ok 404 ok 404 404",
    ("POST", "volunteers/records/{pk}/corrections/"): STAFF_IN_SCOPE,
    ("POST", "volunteers/records/{pk}/reject/"): STAFF_IN_SCOPE,
    ("GET", "volunteers/{pk}/"): STAFF_IN_SCOPE,
}


# Multipart only: sent with a JSON body they answer 415 whoever asks; their caps are in test_limits.
MULTIPART_ONLY = ("uploads/",)


# Field errors that say a referenced object is outside the caller's scope ("not found", as ever).
# An upload id is one of the caller's own uploads: another person's is "不存在", as a wrong id is.
SCOPE_REFUSALS = ("无效主键", "不在您的管理范围内", r"上传文件 \d+ 不存在")


def _scope_refusal(body: object) -> bool:
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict) or not fields:
        return False
    messages = [str(m) for errors in fields.values() for m in (errors if isinstance(errors, list) else [errors])]
    return all(any(re.search(marker, m) for marker in SCOPE_REFUSALS) for m in messages)


def _token(status: int) -> str:
    return str(status) if status in harness.DENIALS else "ok"


def _rows() -> dict[tuple[str, str], dict[str, str]]:
    rows = {}
    for key, spec in EXPECTED.items():
        tokens = spec.split()
        assert len(tokens) == len(ROLES), f"{key}: {len(tokens)} entries for {len(ROLES)} roles"
        rows[key] = dict(zip(ROLES, tokens, strict=True))
    return rows


def test_every_endpoint_has_a_row_and_every_row_an_endpoint():
    routed = {(method, e.key) for e in api_endpoints() for method in e.methods}
    missing = sorted(routed - EXPECTED.keys())
    assert not missing, (
        "endpoints missing from EXPECTED in tests/security/test_authorization.py; add a row for each, "
        "saying what every role must get:\n" + "\n".join(f"    {m} {k}" for m, k in missing)
    )
    stale = sorted(EXPECTED.keys() - routed)
    assert not stale, "rows for endpoints the URL conf no longer has:\n" + "\n".join(f"    {m} {k}" for m, k in stale)


# Who a write is for, in the order tried: its owner is the first of these the row says "ok" for.
OWNERS = ("staff", "street_admin", "member", "volunteer", "resident", "grid_worker", "unit_liaison")
WRITES = ("POST", "PUT", "PATCH")
DENIAL_TOKENS = tuple(str(status) for status in harness.DENIALS)


# Creates whose denial depends on what the body names, for roles that may do the same elsewhere:
# the community (or unit) must parse before it can be refused, so an invalid body is a 400 for them.
BODY_DECIDES: dict[tuple[str, str], tuple[str, ...]] = {
    # Staff of another place list resources there; a liaison lists them for the unit the body names.
    ("POST", "resources/"): ("staff_other", "street_admin_other", "unit_liaison"),
    # Staff of another place issue certificates there, in the community the body names.
    ("POST", "volunteers/certificates/"): ("staff_other", "street_admin_other"),
}


def wrong_types(body: dict) -> dict:
    """The owner's body with every value of a type its field cannot take (and a few common fields)."""
    wrong: dict[str, object] = {"community": "x", "name": ["x"], "status": {"x": 1}, "client_id": 7}
    for key, value in body.items():
        if isinstance(value, bool):
            wrong[key] = "maybe"
        elif isinstance(value, int | float):
            wrong[key] = "not a number"
        elif isinstance(value, str):
            wrong[key] = {"not": "a string"}
        elif isinstance(value, list):
            wrong[key] = "not a list"
        else:
            wrong[key] = [value]
    return wrong


@dataclass
class Tally:
    """What the matrix found, cell by cell."""

    cells: int = 0
    writes: int = 0
    owned: int = 0
    without_body: list[str] = field(default_factory=list)  # writes whose owner the body did not satisfy
    unexpected: list[str] = field(default_factory=list)
    unexpected_2xx: int = 0
    changed: list[str] = field(default_factory=list)
    invalid_cells: int = 0  # denied write cells sent again with invalid bodies
    invalid_400: list[str] = field(default_factory=list)  # …that answered 400: validation before authorization
    invalid_other: list[str] = field(default_factory=list)  # …that answered another status than the denial


class Matrix:
    """Sends every cell of one endpoint's rows and judges the answers into a Tally."""

    def __init__(self, world, rows: dict[tuple[str, str], dict[str, str]]) -> None:
        self.world = world
        self.rows = rows
        self.roles = world.roles()
        self.clients = {role: harness.client(world.user(role)) for role in self.roles}
        self.schema = bodies.schema_of(self.clients["anonymous"])
        self.counts = dbstate.row_counts()
        self.baseline = dbstate.checksum()
        self.tally = Tally()

    def endpoint(self, endpoint) -> None:
        path = endpoint.path(harness.path_values(endpoint, self.world.a))
        for method in endpoint.methods:
            expected = self.rows.get((method, endpoint.key))
            if expected is None:
                continue  # reported by test_every_endpoint_has_a_row_and_every_row_an_endpoint
            self.operation(endpoint, method, path, expected)

    def operation(self, endpoint, method: str, path: str, expected: dict[str, str]) -> None:
        if method not in WRITES or endpoint.key.startswith(MULTIPART_ONLY):
            self.cells(endpoint, method, path, expected, None, None)
            return
        owner = next((r for r in OWNERS if expected.get(r) == "ok"), None)
        self.tally.writes += 1
        # A builder may write what its body needs (an upload, an object in the state the action
        # wants): the operation runs in a savepoint of its own, its denials are compared with the
        # state the builder left, and what the builder wrote is gone before the next operation.
        with transaction.atomic():
            with dbstate.capture_writes() as writes:
                body = bodies.write_body(endpoint, method, self.schema, self.clients[owner or "staff"], self.world)
            before = self.counts, self.baseline
            if writes:
                self.counts, self.baseline = dbstate.row_counts(), dbstate.checksum()
            try:
                self.cells(endpoint, method, path, expected, body, owner)
            finally:
                self.counts, self.baseline = before
                transaction.set_rollback(True)

    def cells(self, endpoint, method: str, path: str, expected: dict[str, str], body, owner: str | None) -> None:
        tally = self.tally
        valid = False
        # The owner first: whether the body is valid decides how the other roles' answers are read.
        for role in sorted(self.roles, key=lambda r: r != owner):
            outcome = self.send(role, method, path, body)
            got = "5xx" if outcome.status >= 500 else _token(outcome.status)
            want = expected[role]
            if want == "ok" and body is not None:
                # With a body valid for the owner, "past authorization" means done: the owner must
                # succeed, and another role allowed in may meet only the object's state (409) or
                # find the body's references outside its scope (a field refused as not found).
                if role == owner:
                    valid = 200 <= outcome.status < 300
                    tally.owned += valid
                    if not valid:
                        tally.without_body.append(f"{method} {endpoint.key}: {outcome.status} {outcome.body}")
                elif valid and outcome.status in (400, 415) and not _scope_refusal(outcome.body):
                    got = f"{outcome.status} (with the owner's valid body)"
            if got != want:
                tally.unexpected_2xx += got == "ok" and 200 <= outcome.status < 300
                detail = f" {outcome.body}" if outcome.status in (400, 409) else ""
                tally.unexpected.append(f"{method} {path} as {role}: {got}, expected {want}{detail}")
            if body is not None and want in DENIAL_TOKENS and role not in BODY_DECIDES.get((method, endpoint.key), ()):
                self.invalid_bodies(role, method, path, body, want)

    def invalid_bodies(self, role: str, method: str, path: str, body: dict, want: str) -> None:
        """A denied write sent again with bodies no one could pass: the denial must come first."""
        for label, invalid in (("{}", {}), ("wrong types", wrong_types(bodies.fresh(body)))):
            outcome = self.send(role, method, path, invalid)
            self.tally.invalid_cells += 1
            if str(outcome.status) == want:
                continue
            line = f"{method} {path} as {role} with {label}: {outcome.status}, expected {want} {outcome.body}"
            (self.tally.invalid_400 if outcome.status == 400 else self.tally.invalid_other).append(line)

    def send(self, role: str, method: str, path: str, body):
        outcome = harness.send(self.clients[role], method, path, bodies.fresh(body), baseline=self.baseline)
        self.tally.cells += 1
        if outcome.status in harness.DENIALS:
            after = dbstate.row_counts()
            tables = outcome.changed or [t for t in self.counts if self.counts[t] != after.get(t)]
            if tables:
                self.tally.changed.append(f"{method} {path} as {role}: {outcome.status} but changed {tables}")
        return outcome


def test_authorization_matrix(world, no_throttles, figures, fake_wechat):
    # `fake_wechat`: the WeChat login and phone binding are sent with codes the fake WeChat accepts.
    matrix = Matrix(world, _rows())
    for endpoint in api_endpoints():
        matrix.endpoint(endpoint)
    tally = matrix.tally
    figures["authorization"] = (
        f"{tally.cells} cells, {len(tally.unexpected)} unexpected ({tally.unexpected_2xx} unexpected 2xx), "
        f"{len(tally.changed)} denials that changed data; {tally.owned} of {tally.writes} writes done by their "
        f"owner with a valid body, {len(tally.without_body)} still sent a body their owner is refused"
    )
    figures["denials under invalid bodies"] = (
        f"{tally.invalid_cells} cells, {len(tally.invalid_400)} answered 400 before authorization, "
        f"{len(tally.invalid_other)} answered another status than the denial"
    )
    assert not tally.unexpected, "\n".join(tally.unexpected)
    assert not tally.changed, "\n".join(tally.changed)
    assert not tally.invalid_400, "validated before authorizing:\n" + "\n".join(tally.invalid_400)
    assert not tally.invalid_other, "\n".join(tally.invalid_other)
    assert not tally.without_body, "owners refused the body built for them (tests/security/bodies.py):\n" + "\n".join(
        tally.without_body
    )
