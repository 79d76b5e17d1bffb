"""The owner's export of their data, and the deletion of their account (PIPL art. 45 and 47)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts import services
from backend.accounts.audit import record_staff_accesses
from backend.accounts.models import PersonalDataAccess, RoleGrant, User
from backend.accounts.scoping import get_scope
from backend.activities.models import CheckIn, Enrollment, LeaveRequest
from backend.appeals.models import Appeal, AppealStep
from backend.core.models import Upload
from backend.members.models import Demand, MemberRegistration, PartyMember, PointsEntry, PostAssignment
from backend.notices.models import NoticeReceipt, SubscribeConsent
from backend.volunteers.models import Certificate, RecordCorrection, ServiceRecord, Volunteer
from devtools.fake_wechat import FakeWeChat
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

from .personal import build_person

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/auth/users/me/export/"
DELETION = "/api/v1/auth/users/me/deletion/"
VERIFY = "/api/v1/certificates/verify/"
LOGIN = "/api/v1/auth/jwt/create/"
WECHAT_LOGIN = "/api/v1/auth/wechat/login/"

LEDGERS = (PointsEntry, ServiceRecord, RecordCorrection, CheckIn, AppealStep, PersonalDataAccess, Certificate)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code
    assert set(body) <= {"code", "detail", "fields"}
    if field is not None:
        assert field in body["fields"], body
    return body


@pytest.fixture
def staff(community):
    return factories.staff_of(community)


@pytest.fixture
def person(community, staff):
    return build_person(community, staff=staff)


def ledger_rows() -> dict[str, list[tuple]]:
    return {model.__name__: sorted(model.objects.values_list()) for model in LEDGERS}


# --- export ------------------------------------------------------------------------------------


def test_export_holds_everything_about_the_caller_unmasked(person, as_user):
    response = as_user(person.user).get(EXPORT)
    assert response.status_code == 200, response.json()
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["format"] == "personal-data/1" and data["user"] == person.user.pk
    sections = data["sections"]
    assert {
        "account",
        "roles",
        "uploads",
        "party_member",
        "member_registrations",
        "unit_registrations",
        "consents",
        "posts",
        "points",
        "demands",
        "resources",
        "enrollments",
        "check_ins",
        "leave_requests",
        "volunteer",
        "service_records",
        "record_corrections",
        "certificates",
        "appeals",
        "notices",
        "subscribe_consents",
    } <= set(sections)

    assert sections["account"]["phone"] == person.phone
    assert sections["account"]["real_name"] == "张三丰"
    member = sections["party_member"]
    assert member["id_number"] == person.id_number and member["phone"] == person.member_phone
    assert sections["volunteer"]["id_number"] == person.volunteer_id_number
    [registration] = sections["member_registrations"]
    assert registration["phone"] == person.member_phone and registration["address"] == "岳阳楼区洞庭路1号"
    assert sections["consents"][0]["purpose"] == "party_member" and sections["consents"][0]["withdrawn_at"] is None
    assert sections["demands"][0]["contact_phone"] == person.contact_phone
    assert sections["appeals"][0]["contact_phone"] == person.contact_phone
    assert sections["appeals"][0]["steps"][0]["kind"] == "submitted"
    # The points given by hand, and those the approved volunteer hours earned.
    assert sorted(entry["reason"] == "参加活动" for entry in sections["points"]) == [False, True]
    assert len(sections["posts"]) == 1
    assert sections["leave_requests"][0]["reason"] == "住院治疗"
    assert sections["service_records"] and sections["record_corrections"][0]["reason"] == "提前离开"
    assert sections["certificates"][0]["number"] == person.certificate.number
    assert sections["notices"] and sections["subscribe_consents"][0]["remaining"] == 2
    assert sections["uploads"][0]["original_name"] == "张三丰的证明.pdf"
    # Check-ins: the distance and whether inside, never a position.
    [check_in] = sections["check_ins"]
    assert check_in["inside"] is True and check_in["distance_m"] is not None
    assert not {"latitude", "longitude"} & set(check_in)
    text = response.content.decode()
    lat, lon = person.positions[0]
    assert f"{lat:.5f}" not in text and f"{lon:.5f}" not in text
    # Times as the API writes them: local, with the offset.
    assert sections["account"]["date_joined"].endswith("+08:00")


def test_the_export_is_audited(person, as_user):
    as_user(person.user).get(EXPORT)
    access = PersonalDataAccess.objects.get(what="personal_data_export")
    assert access.actor == access.subject == person.user
    assert access.path == EXPORT


def test_another_users_export_holds_nothing_of_the_first(person, community, as_user):
    other = factories.UserFactory(community=community)
    text = as_user(other).get(EXPORT).content.decode()
    for value in (person.phone, person.member_phone, person.contact_phone, person.id_number, "张三丰"):
        assert value not in text
    data = json.loads(text)["sections"]
    assert data["party_member"] is None and data["volunteer"] is None and data["appeals"] == []


def test_export_needs_a_signed_in_user(api):
    assert_error(api.get(EXPORT), 401, "not_authenticated")


def test_export_is_throttled(resident, as_user):
    client = as_user(resident)
    for _ in range(5):
        assert client.get(EXPORT).status_code == 200
    response = client.get(EXPORT)
    assert_error(response, 429, "throttled")
    assert PersonalDataAccess.objects.filter(subject=resident).count() == 5


def test_export_queries_do_not_grow_with_the_rows(community, staff, as_user):
    def queries(person) -> int:
        client = as_user(person.user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(EXPORT).status_code == 200
        return len(captured.captured_queries)

    few = queries(build_person(community, staff=staff, copies=1))
    many = queries(build_person(community, staff=staff, copies=4))
    assert many == few, f"{few} queries for one of each, {many} for four"


# --- deletion ----------------------------------------------------------------------------------


def delete(client: APIClient, **body):
    return client.post(DELETION, {"confirm": True, **body}, format="json")


def test_deletion_anonymises_the_person_and_keeps_the_ledgers(person, community, staff, as_user, api):
    tokens = RefreshToken.for_user(person.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
    before = ledger_rows()
    verified = api.get(f"{VERIFY}{person.certificate.number}/").json()

    response = delete(client, current_password=person.password)
    assert response.status_code == 204, response.content

    user = User.objects.get(pk=person.user.pk)
    assert user.anonymised_at is not None and not user.is_active
    assert (user.phone, user.real_name, user.nickname, user.wechat_openid, user.community_id) == (
        None,
        "",
        "",
        None,
        None,
    )
    assert not user.has_usable_password()
    assert str(user) == f"用户{user.pk}"

    member = PartyMember.objects.get(user=user)
    assert (member.real_name, member.phone, member.employer, member.joined_on) == ("", "", "", None)
    assert (member.id_number_encrypted, member.id_number_hash, member.id_number_masked) == ("", None, "")
    registration = MemberRegistration.objects.get(member=member)
    assert registration.status == "withdrawn" and registration.withdrawn_at is not None
    assert (registration.real_name, registration.phone, registration.address) == ("", "", "")
    assert not PostAssignment.objects.filter(member=member, left_at__isnull=True).exists()

    volunteer = Volunteer.objects.get(user=user)
    assert (volunteer.real_name, volunteer.id_number_encrypted, volunteer.id_number_hash) == ("", "", None)
    assert volunteer.volunteer_number == person.volunteer.volunteer_number
    assert set(Demand.objects.filter(requester=user).values_list("contact_name", "contact_phone")) == {("", "")}
    assert set(Appeal.objects.filter(resident=user).values_list("contact_name", "contact_phone")) == {("", "")}
    assert LeaveRequest.objects.get(user=user).reason == ""
    assert not SubscribeConsent.objects.filter(user=user).exists()
    assert Upload.objects.get(owner=user).original_name == ""
    assert NoticeReceipt.objects.filter(user=user).exists()

    # Ledgers: not one row changed or went.
    assert ledger_rows() == before
    # A certificate already handed out still verifies, as it did.
    assert api.get(f"{VERIFY}{person.certificate.number}/").json() == verified

    # No way back in: the token, the refresh token, the password.
    assert_error(client.get("/api/v1/auth/users/me/"), 401, "token_invalid")
    assert api.post("/api/v1/auth/jwt/refresh/", {"refresh": str(tokens)}).status_code == 401
    assert api.post(LOGIN, {"phone": person.phone, "password": person.password}).status_code == 401
    # Deleting again: the token no longer signs anyone in.
    assert_error(delete(client, current_password=person.password), 401, "token_invalid")


def test_staff_deleting_their_account_lose_their_roles(community, as_user):
    secretary = factories.staff_of(community)
    assert delete(as_user(secretary), current_password="pass-Word-123").status_code == 204
    grant = RoleGrant.objects.get(user=secretary)
    assert grant.revoked_at is not None and grant.revoked_by_id == secretary.pk
    assert not get_scope(User.objects.get(pk=secretary.pk)).has_any_role


def test_a_place_in_an_upcoming_activity_goes_to_the_next_in_line(community, staff, resident, as_user):
    activity = ActivityFactory(community=community, organiser=staff, capacity=1)
    enrol(activity, resident)
    waiting = enrol(activity, factories.UserFactory(), status=Enrollment.Status.WAITLISTED)
    assert delete(as_user(resident), current_password="pass-Word-123").status_code == 204
    assert Enrollment.objects.get(activity=activity, user=resident).status == "withdrawn"
    waiting.refresh_from_db()
    assert waiting.status == "enrolled"


def test_anonymising_twice_changes_nothing_the_second_time(person):
    assert services.anonymise_account(user=person.user) is True
    user = User.objects.get(pk=person.user.pk)
    row = User.objects.filter(pk=user.pk).values().get()
    assert services.anonymise_account(user=user) is False
    assert User.objects.filter(pk=user.pk).values().get() == row


def test_a_wechat_user_confirms_with_a_fresh_login_code(fake_wechat, api):
    login = api.post(WECHAT_LOGIN, {"code": "alice"}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")
    user = User.objects.get(pk=login["user"]["id"])
    assert not user.has_usable_password()

    assert_error(delete(client), 400, "validation_error", "wechat_code")
    assert delete(client, wechat_code="alice:2").status_code == 204
    user.refresh_from_db()
    assert user.wechat_openid is None and user.anonymised_at is not None

    # The same WeChat user signing in later starts a new, empty account.
    again = api.post(WECHAT_LOGIN, {"code": "alice:3"}).json()
    assert again["is_new"] is True and again["user"]["id"] != user.pk


def test_another_wechat_users_code_does_not_delete(fake_wechat, api):
    login = api.post(WECHAT_LOGIN, {"code": "alice"}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")
    assert_error(delete(client, wechat_code="bob"), 400, "invalid_code", "wechat_code")
    user = User.objects.get(pk=login["user"]["id"])
    assert user.is_active and user.wechat_openid == FakeWeChat.openid_for("alice")


def test_wechat_refusing_the_code_deletes_nothing(fake_wechat, api):
    login = api.post(WECHAT_LOGIN, {"code": "alice"}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")
    assert_error(delete(client, wechat_code="err-40029"), 400, "invalid_code")
    assert User.objects.get(pk=login["user"]["id"]).anonymised_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "confirm"),
        ({"confirm": False, "current_password": "pass-Word-123"}, "confirm"),
        ({"confirm": "maybe", "current_password": "pass-Word-123"}, "confirm"),
        ({"confirm": True}, "current_password"),
        ({"confirm": True, "current_password": "wrong"}, "current_password"),
        ({"confirm": True, "current_password": "x" * 129}, "current_password"),
        ({"confirm": True, "wechat_code": "alice"}, "wechat_code"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(person, as_user, body, field):
    user_row = User.objects.filter(pk=person.user.pk).values().get()
    before = ledger_rows()
    members = list(PartyMember.objects.values_list())
    response = as_user(person.user).post(DELETION, body, format="json")
    assert_error(response, 400, "validation_error", field)
    assert User.objects.filter(pk=person.user.pk).values().get() == user_row
    assert ledger_rows() == before
    assert list(PartyMember.objects.values_list()) == members


def test_a_body_that_is_not_an_object_is_refused(resident, as_user):
    response = as_user(resident).post(DELETION, [1, 2], format="json")
    assert response.status_code == 400
    assert User.objects.get(pk=resident.pk).is_active


def test_deletion_needs_a_signed_in_user(api):
    assert_error(api.post(DELETION, {"confirm": True}, format="json"), 401, "not_authenticated")


def test_someone_elses_password_deletes_nobody(person, community, as_user):
    other = factories.UserFactory(community=community)
    other.set_password("other-Pass-456")
    other.save()
    # The caller is always the one deleted: another account's password is just a wrong password.
    assert_error(delete(as_user(person.user), current_password="other-Pass-456"), 400, "validation_error")
    assert User.objects.filter(anonymised_at__isnull=False).count() == 0


def test_deletion_attempts_are_throttled(resident, as_user):
    client = as_user(resident)
    for _ in range(10):
        assert delete(client, current_password="wrong").status_code == 400
    assert_error(delete(client, current_password="pass-Word-123"), 429, "throttled")
    assert User.objects.get(pk=resident.pk).is_active


def test_only_callers_holding_a_role_leave_audit_rows(community):
    subject = factories.UserFactory()
    resident = factories.UserFactory()
    assert record_staff_accesses(actor=resident, reads=[(subject, 1)], what="volunteer") == []
    secretary = factories.staff_of(community)
    assert len(record_staff_accesses(actor=secretary, reads=[(subject, 1), (secretary, 2)], what="volunteer")) == 1
    assert list(PersonalDataAccess.objects.values_list("actor_id", "subject_id")) == [(secretary.pk, subject.pk)]
