"""The personal-data scan: drive the API as every role, then look for what must not be there.

Seeded with known values: party members and volunteers with ID numbers, a person with something in
every app (tests/accounts/personal.py), and a WeChat user who signs in (a session_key is issued),
binds a phone, registers with ID numbers, files an appeal and a demand, checks in from a position,
exports their data and deletes their account, all through the API. Then every GET endpoint of the URL
conf is read as every role, the person and the WeChat user. The scanner (tests/security/personal_data.py)
reads every answer, every log line written meanwhile and a dump of the database.

A positive control plants each kind of value where it must not be and checks that the scanner
reports it, so the scan cannot pass by looking at nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import uuid
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.models import PersonalDataAccess, User
from backend.appeals.models import Appeal
from backend.communities.models import PartyOrganization
from backend.core import crypto
from backend.members.models import Demand, MemberRegistration, PartyMember, UnitRegistration
from backend.red_property.models import PropertyCompany
from backend.volunteers.models import Certificate, Volunteer
from tests.accounts.personal import build_person, fresh_id_number, position_near
from tests.activities.factories import ActivityFactory

from .harness import MissingObject, path_values
from .personal_data import Recorded, Scanner
from .urlconf import api_endpoints

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# The documentation pages answer the same to everyone and hold no data.
STATIC = ("api/schema/", "api/docs/", "api/redoc/")
WECHAT_PHONE = "13755550001"


class RecordingClient(APIClient):
    """An API client that keeps every answer it receives, with who asked."""

    def __init__(self, viewer: User | None, sink: list[Recorded]) -> None:
        super().__init__()
        self.viewer = viewer.pk if viewer is not None else None
        self.sink = sink
        if viewer is not None:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(viewer).access_token}")

    def request(self, **kwargs):
        response = super().request(**kwargs)
        body = b"".join(response.streaming_content) if response.streaming else bytes(response.content)
        self.sink.append(
            Recorded(
                viewer=self.viewer,
                method=kwargs.get("REQUEST_METHOD", "GET"),
                path=kwargs.get("PATH_INFO", ""),
                status=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=body,
            )
        )
        return response


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The fake WeChat plays WeChat's part: its lines are WeChat's, not ours.
        if record.name.startswith("devtools.fake_wechat"):
            return
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append((record.name, text))


@contextmanager
def captured_logs():
    """Every line production would write (INFO and up) and our own DEBUG lines too."""
    handler = _Lines()
    root, ours = logging.getLogger(), logging.getLogger("backend")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)


def dump_database() -> tuple[str, int]:
    out = io.StringIO()
    call_command("dumpdata", stdout=out, format="json")
    text = out.getvalue()
    return text, len(json.loads(text))


def owners() -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Whose each phone and ID number is, from everything the database holds."""
    phones: dict[str, set[int]] = {}
    ids: dict[str, set[int]] = {}

    def add(table: dict[str, set[int]], value: str | None, *users: int | None) -> None:
        if value:
            table.setdefault(value, set()).update(u for u in users if u is not None)

    for pk, phone in User.objects.values_list("pk", "phone"):
        add(phones, phone, pk)
    for user, phone, encrypted in PartyMember.objects.values_list("user_id", "phone", "id_number_encrypted"):
        add(phones, phone, user)
        add(ids, crypto.decrypt(encrypted) if encrypted else None, user)
    for user, phone in MemberRegistration.objects.values_list("member__user_id", "phone"):
        add(phones, phone, user)
    for user, encrypted in Volunteer.objects.values_list("user_id", "id_number_encrypted"):
        add(ids, crypto.decrypt(encrypted) if encrypted else None, user)
    for user, phone in Demand.objects.values_list("requester_id", "contact_phone"):
        add(phones, phone, user)
    for resident, filer, phone in Appeal.objects.values_list("resident_id", "filed_by_id", "contact_phone"):
        add(phones, phone, resident, filer)
    for user, phone in UnitRegistration.objects.values_list("filed_by_id", "contact_phone"):
        add(phones, phone, user)
    return phones, ids


def published() -> list[tuple[re.Pattern[str], set[str]]]:
    """Contacts published on records, by the routes that show those records.

    A certificate prints its issuer's contact phone (民政部's template; the issuing staff member's
    own unless they give another), for the volunteer and the issuing community's staff. A property
    company's page shows its contact whole to the staff who open it (red_property/views.py: lists
    mask, one record shows); the contact is not an account, so there is no one to audit the read of.
    """
    certificates = set(Certificate.objects.exclude(contact="").values_list("contact", flat=True))
    companies = set(PropertyCompany.objects.exclude(contact_phone="").values_list("contact_phone", flat=True))
    return [
        (re.compile(r"^/api/v1/volunteers/certificates/(\d+/)?$"), certificates),
        (re.compile(r"^/api/v1/property-companies/\d+/$"), companies),
    ]


def _seed_id_numbers(world) -> None:
    for side in (world.a, world.b):
        for member in PartyMember.objects.filter(registrations__community=side.community).distinct():
            member.set_id_number(fresh_id_number())
            member.save()


def _wechat_person(world, fake_wechat, sink: list[Recorded]) -> tuple[RecordingClient, User, dict[str, str]]:
    """A resident of side A doing everything through the API, from the first WeChat login."""
    community = world.a.community
    login = RecordingClient(None, sink).post("/api/v1/auth/wechat/login/", {"code": "scan-person"}, format="json")
    assert login.status_code == 200, login.json()
    client = RecordingClient(None, sink)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    client.viewer = login.json()["user"]["id"]
    user = User.objects.get(pk=client.viewer)

    def ok(response, *statuses: int):
        assert response.status_code in (statuses or (200, 201)), (response.status_code, response.content[:500])
        return response.json() if response.content else None

    ok(client.post("/api/v1/auth/wechat/phone/", {"code": f"phone-{WECHAT_PHONE}"}, format="json"))
    ok(client.patch("/api/v1/auth/users/me/", {"real_name": "赵六", "community": community.pk}, format="json"))
    values = {"member_id": fresh_id_number(), "volunteer_id": fresh_id_number(), "contact": "13755550002"}
    branch = PartyOrganization.objects.filter(community=community).first()
    registration = ok(
        client.post(
            "/api/v1/members/registrations/",
            {
                "community": community.pk,
                "organization": branch.pk,
                "real_name": "赵六",
                "phone": "13755550003",
                "status": "full",
                "consent": True,
                "id_number": values["member_id"],
            },
            format="json",
        )
    )
    staff = RecordingClient(world.a.users["staff"], sink)
    ok(staff.post(f"/api/v1/members/registrations/{registration['id']}/approve/", {}, format="json"))
    ok(
        client.post(
            "/api/v1/volunteers/me/",
            {
                "community": community.pk,
                "real_name": "赵六",
                "id_type": "resident_id",
                "id_number": values["volunteer_id"],
                "consent": True,
            },
            format="json",
        )
    )
    ok(
        client.post(
            "/api/v1/appeals/",
            {
                "client_id": str(uuid.uuid4()),
                "community": community.pk,
                "category": "environment",
                "content": "楼道堆放杂物",
                "contact_name": "赵六",
                "contact_phone": values["contact"],
            },
            format="json",
        )
    )
    ok(
        client.post(
            "/api/v1/demands/",
            {"kind": "wish", "community": community.pk, "title": "想要一台收音机", "contact_phone": values["contact"]},
            format="json",
        )
    )
    activity = ActivityFactory(
        community=community,
        organiser=world.a.users["staff"],
        starts_at=timezone.now() - dt.timedelta(minutes=5),
        radius_m=500,
    )
    ok(client.post(f"/api/v1/activities/{activity.pk}/enrollment/", {}, format="json"))
    code = ok(staff.get(f"/api/v1/activities/{activity.pk}/checkin-code/"))
    lat, lon = position_near(activity, 7)
    body = {"client_id": str(uuid.uuid4()), "token": code["token"], "latitude": lat, "longitude": lon, "accuracy": 12}
    ok(client.post(f"/api/v1/activities/{activity.pk}/check-in/", body, format="json"))
    values["lat"], values["lon"] = str(lat), str(lon)
    return client, user, values


def _position_needles(lat: float, lon: float) -> dict[str, str]:
    """The digits that give a position away, however it were written: truncated or rounded to 5 places."""
    needles = {}
    for value in (lat, lon):
        text = f"{value:.6f}"
        needles[text[:-1]] = "check-in position"
        needles[f"{value:.5f}"] = "check-in position"
    return needles


def test_no_personal_data_where_it_must_not_be(world, no_throttles, fake_wechat, figures):
    sink: list[Recorded] = []
    with captured_logs() as lines:
        _seed_id_numbers(world)
        person = build_person(world.a.community, staff=world.a.users["staff"])
        wechat_client, _user, values = _wechat_person(world, fake_wechat, sink)

        viewers: dict[str, User | None] = {role: world.user(role) for role in world.roles()}
        viewers["person"] = person.user
        clients = {name: RecordingClient(user, sink) for name, user in viewers.items()}
        clients["wechat person"] = wechat_client
        for endpoint in api_endpoints():
            if "GET" not in endpoint.methods or endpoint.key in STATIC or endpoint.route in STATIC:
                continue
            path = endpoint.path(_path_values(endpoint, world))
            for client in clients.values():
                client.get(path)
        for client in (clients["person"], wechat_client):
            assert client.get("/api/v1/auth/users/me/export/").status_code == 200

        phones, ids = owners()
        audited = set(PersonalDataAccess.objects.values_list("actor_id", "what", "path"))
        # The WeChat person leaves: their details must be gone from the database afterwards.
        deleted = wechat_client.post(
            "/api/v1/auth/users/me/deletion/", {"confirm": True, "wechat_code": "scan-person:2"}
        )
        assert deleted.status_code == 204, deleted.content
        dump, rows = dump_database()

    needles = dict.fromkeys(fake_wechat.issued_session_keys, "session_key")
    for lat, lon in [*person.positions, (float(values["lat"]), float(values["lon"]))]:
        needles.update(_position_needles(lat, lon))
    assert fake_wechat.issued_session_keys and len(needles) > 2
    scanner = Scanner(phone_owners=phones, id_owners=ids, needles=needles, audited=audited, published=published())
    for record in sink:
        scanner.answer(record)
    log_lines = scanner.log_lines(lines)
    scanner.dump(
        dump, gone=[WECHAT_PHONE, "13755550003", values["contact"], values["member_id"], values["volunteer_id"], "赵六"]
    )

    # The owners' own views did show their values, so the scan looked where they are.
    own = [r for r in sink if r.path.endswith("/me/export/") and r.viewer == person.user.pk]
    assert own and person.id_number in own[0].body.decode() and person.phone in own[0].body.decode()
    figures["personal data"] = (
        f"{len(sink)} responses, {log_lines} log lines, {rows} rows scanned; {len(scanner.findings)} unmasked found"
    )
    assert not scanner.findings, "\n".join(sorted(set(scanner.findings)))


def _path_values(endpoint, world) -> dict[str, object]:
    try:
        return path_values(endpoint, world.a)
    except MissingObject:
        return dict.fromkeys(endpoint.kwargs, 1)


# --- the positive control ----------------------------------------------------------------------


def test_the_scanner_finds_each_kind_of_planted_value(world, no_throttles, fake_wechat, caplog):
    """Each kind of value planted where it must not be is reported: in an answer, a log line, the database."""
    from backend.core.events import Audience
    from backend.notices.services import create_notice

    sink: list[Recorded] = []
    staff = world.a.users["staff"]
    member = PartyMember.objects.filter(registrations__community=world.a.community).first()
    other_phone = member.phone
    planted_id = fresh_id_number()
    login = RecordingClient(None, sink).post("/api/v1/auth/wechat/login/", {"code": "planted"}, format="json")
    assert login.status_code == 200
    [session_key] = fake_wechat.issued_session_keys
    # An answer: a notice whose body holds a member's phone and an ID number, read by a resident.
    create_notice(
        sender=staff,
        title="名单",
        body=f"联系 {other_phone}, 证件 {planted_id}",
        audience=Audience.community(world.a.community),
    )
    resident = world.user("resident")
    RecordingClient(resident, sink).get("/api/v1/notices/")
    scanner = Scanner(
        phone_owners={other_phone: {member.user_id}},
        id_owners={},
        needles={session_key: "session_key", "29.37265": "check-in position"},
    )
    for record in sink:
        scanner.answer(record)
    assert any("unmasked phone" in f and "/notices/" in f for f in scanner.findings), scanner.findings
    assert any("plaintext ID number" in f for f in scanner.findings), scanner.findings
    # The owner reading their own phone is not a finding.
    own = Scanner(phone_owners={other_phone: {resident.pk}})
    for record in sink:
        if record.path.startswith("/api/v1/notices/"):
            own.answer(record)
    assert not [f for f in own.findings if "phone" in f]

    # Log lines: a session key, a phone, a position.
    scanner.findings.clear()
    with captured_logs() as lines:
        logging.getLogger("backend.accounts").info("session %s for %s at 29.372650", session_key, other_phone)
    assert scanner.log_lines(lines) == 1
    kinds = " ".join(scanner.findings)
    assert "session_key" in kinds and "phone" in kinds and "check-in position" in kinds

    # The database: an ID number written in plain text where a masked one belongs.
    scanner.findings.clear()
    PartyMember.objects.filter(pk=member.pk).update(id_number_masked=planted_id)
    dump, _rows = dump_database()
    scanner.dump(dump, gone=[other_phone])
    assert any("plaintext ID number" in f for f in scanner.findings), scanner.findings
    assert any("erased value" in f for f in scanner.findings), scanner.findings
