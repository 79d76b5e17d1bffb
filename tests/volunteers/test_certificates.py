"""Certificates: approved hours only, a snapshot, revocable, verifiable by number, printable with the font inside."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from backend.core.errors import DomainError
from backend.volunteers import services
from backend.volunteers.models import Certificate
from tests import factories
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, id_number, record, with_id

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/certificates/"
VERIFY = "/api/v1/certificates/verify/"


@pytest.fixture
def named_volunteer(community):
    volunteer = VolunteerFactory(community=community, real_name="欧阳娜娜")
    return with_id(volunteer, id_number())


def period(days_back: int = 60) -> dict[str, str]:
    today = timezone.localdate()
    return {"period_start": (today - timedelta(days=days_back)).isoformat(), "period_end": today.isoformat()}


def issue(client, volunteer, **extra):
    return client.post(URL, {"volunteer": volunteer.pk, **period(), **extra})


def test_issue_counts_approved_hours_of_the_community_only(
    as_user, named_volunteer, community, other_community, secretary
):
    approved(named_volunteer, started_at=days_ago(20), hours="2.5", content="社区环境整治")
    approved(named_volunteer, started_at=days_ago(10), hours="3", content="敬老院陪护")
    record(named_volunteer, started_at=days_ago(5), hours="9")  # pending
    approved(named_volunteer, community=other_community, started_at=days_ago(3), hours="4")
    approved(named_volunteer, started_at=days_ago(90), hours="6")  # before the period
    response = issue(as_user(secretary), named_volunteer)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["hours"] == "5.50" and body["record_count"] == 2
    assert body["service_summary"] == "社区环境整治、敬老院陪护"
    assert body["volunteer_name"] == "欧阳娜娜"
    assert body["id_number_masked"] == named_volunteer.id_number_masked
    assert body["issuer_name"] == f"{community.street.name}{community.name}"
    assert body["handling_officer"] == secretary.real_name
    assert body["person_in_charge"] == secretary.real_name  # the community's secretary
    assert re.fullmatch(r"ZY[0-9A-HJKMNP-TV-Z]{16}", body["number"])


def test_no_approved_hours_no_certificate(as_user, named_volunteer, secretary):
    record(named_volunteer, started_at=days_ago(10), hours="3")
    response = issue(as_user(secretary), named_volunteer)
    assert response.status_code == 400
    assert "period_start" in response.json()["fields"]
    assert not Certificate.objects.exists()


def test_a_certificate_needs_the_name_and_document(as_user, community, secretary):
    volunteer = VolunteerFactory(community=community)
    approved(volunteer, started_at=days_ago(10))
    response = issue(as_user(secretary), volunteer)
    assert response.status_code == 400 and "volunteer" in response.json()["fields"]


@pytest.mark.parametrize(
    "change",
    [
        {"period_end": (timezone.localdate() + timedelta(days=1)).isoformat()},
        {"period_start": timezone.localdate().isoformat(), "period_end": "2020-01-01"},
        {"volunteer": 999999},
        {"period_start": "soon"},
    ],
)
def test_bad_issue_input_is_400_and_writes_nothing(as_user, named_volunteer, secretary, change):
    approved(named_volunteer, started_at=days_ago(10))
    response = as_user(secretary).post(URL, {"volunteer": named_volunteer.pk, **period(), **change})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not Certificate.objects.exists()


def test_a_later_correction_does_not_change_an_issued_certificate(as_user, named_volunteer, secretary):
    start = days_ago(10)
    row = approved(named_volunteer, started_at=start, hours="2")
    certificate = issue(as_user(secretary), named_volunteer).json()
    services.correct_record(
        record=row, by=secretary, started_at=start, ended_at=start + timedelta(hours=5), reason="签退漏记"
    )
    named_volunteer.real_name = "改名"
    named_volunteer.save()
    again = as_user(secretary).get(f"{URL}{certificate['id']}/").json()
    assert (again["hours"], again["volunteer_name"]) == ("2.00", "欧阳娜娜")
    stored = Certificate.objects.get(pk=certificate["id"])
    assert stored.records_snapshot[0]["hours"] == "2.00"


def test_issuing_twice_needs_a_revocation_first_and_retries_are_idempotent(as_user, named_volunteer, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    client = as_user(secretary)
    client_id = str(uuid.uuid4())
    first = issue(client, named_volunteer, client_id=client_id)
    retry = issue(client, named_volunteer, client_id=client_id)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["number"] == first.json()["number"]
    duplicate = issue(client, named_volunteer)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "conflict"
    revoked = client.post(f"{URL}{first.json()['id']}/revoke/", {"reason": "时长有误, 重新出具"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert issue(client, named_volunteer).status_code == 201
    assert Certificate.objects.count() == 2


def test_revoke_needs_a_reason_and_happens_once(as_user, named_volunteer, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    certificate = issue(as_user(secretary), named_volunteer).json()
    client = as_user(secretary)
    blank = client.post(f"{URL}{certificate['id']}/revoke/", {"reason": ""})
    assert blank.status_code == 400
    assert Certificate.objects.get().revoked_at is None
    assert client.post(f"{URL}{certificate['id']}/revoke/", {"reason": "错误"}).status_code == 200
    assert client.post(f"{URL}{certificate['id']}/revoke/", {"reason": "错误"}).status_code == 409


def test_an_outsider_revoking_without_a_reason_hears_403(as_user, named_volunteer, other_community, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    certificate = issue(as_user(secretary), named_volunteer).json()
    with pytest.raises(DomainError) as caught:
        services.revoke_certificate(
            certificate=Certificate.objects.get(pk=certificate["id"]), by=factories.staff_of(other_community), reason=""
        )
    assert caught.value.code == "permission_denied"
    assert Certificate.objects.get().revoked_at is None


def test_only_the_organisers_staff_issue_and_revoke(as_user, named_volunteer, community, other_community, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    outsider = factories.staff_of(other_community)
    refused = as_user(outsider).post(URL, {"volunteer": named_volunteer.pk, "community": community.pk, **period()})
    assert refused.status_code == 403
    # Issued in the outsider's own name there are no hours of theirs to certify.
    assert issue(as_user(outsider), named_volunteer).status_code == 400
    assert issue(as_user(named_volunteer.user), named_volunteer, community=community.pk).status_code == 403
    certificate = issue(as_user(secretary), named_volunteer).json()
    for caller in (outsider, named_volunteer.user, factories.UserFactory()):
        response = as_user(caller).post(f"{URL}{certificate['id']}/revoke/", {"reason": "x"})
        assert response.status_code == 404
    assert Certificate.objects.get().revoked_at is None


def test_volunteers_read_their_own_certificates_only(as_user, named_volunteer, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    certificate = issue(as_user(secretary), named_volunteer).json()
    assert [c["id"] for c in as_user(named_volunteer.user).get(URL).json()["results"]] == [certificate["id"]]
    assert as_user(factories.UserFactory()).get(URL).json()["results"] == []
    assert as_user(factories.UserFactory()).get(f"{URL}{certificate['id']}/pdf/").status_code == 404


def test_street_admins_must_name_the_issuing_community(as_user, named_volunteer, community, other_community, street):
    approved(named_volunteer, started_at=days_ago(10))
    admin = factories.admin_of(street)
    missing = issue(as_user(admin), named_volunteer)
    assert missing.status_code == 400 and "community" in missing.json()["fields"]
    assert issue(as_user(admin), named_volunteer, community=community.pk).status_code == 201


def test_verify_a_genuine_certificate_without_signing_in_shows_only_masked_data(
    api, as_user, named_volunteer, secretary
):
    approved(named_volunteer, started_at=days_ago(10), hours="3")
    certificate = issue(as_user(secretary), named_volunteer).json()
    response = api.get(f"{VERIFY}{certificate['number']}/")
    assert response.status_code == 200
    body = response.json()
    assert body["genuine"] is True and body["revoked"] is False
    assert body["volunteer_name"] == "欧***"
    assert body["hours"] == "3.00"
    assert body["issuer_name"] == certificate["issuer_name"]
    text = response.content.decode()
    assert "欧阳娜娜" not in text and named_volunteer.volunteer_number not in text
    assert body["id_number_masked"] == named_volunteer.id_number_masked and "*" in body["id_number_masked"]
    # Typed from paper: lower case and hyphens still find it.
    typed = certificate["number"].lower()
    assert api.get(f"{VERIFY}{typed[:6]}-{typed[6:]}/").status_code == 200


def test_verify_a_revoked_and_an_unknown_number(api, as_user, named_volunteer, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    certificate = issue(as_user(secretary), named_volunteer).json()
    as_user(secretary).post(f"{URL}{certificate['id']}/revoke/", {"reason": "重新出具"})
    revoked = api.get(f"{VERIFY}{certificate['number']}/").json()
    assert revoked["revoked"] is True and revoked["revoked_at"]
    assert "重新出具" not in str(revoked)
    unknown = api.get(f"{VERIFY}ZY0000000000000000/")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": "not_found", "detail": "未找到"}


def test_verify_is_throttled_as_anonymous_even_with_a_token(as_user, settings, named_volunteer, secretary):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        client = as_user(secretary)
        codes = [client.get(f"{VERIFY}ZY{n:016d}/").status_code for n in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [404, 404, 429]


def page_text(page) -> str:
    # pypdf reads fpdf2's embedded two-byte encoding CMap one byte at a time and leaves a NUL before
    # each character (poppler's pdftotext reads the same file cleanly); neither is part of the text.
    return re.sub(r"\s+", "", page.extract_text().replace("\x00", ""))


def test_the_pdf_carries_the_text_and_the_embedded_subset_font(as_user, named_volunteer, secretary, settings):
    settings.CERTIFICATE_VERIFY_URL_PREFIX = "https://verify.example.org/c/"
    approved(named_volunteer, started_at=days_ago(10), hours="12.5", content="防汛值守")
    certificate = issue(as_user(secretary), named_volunteer).json()
    response = as_user(named_volunteer.user).get(f"{URL}{certificate['id']}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4
    text = page_text(page)
    for expected in (
        "志愿服务证明",
        "欧阳娜娜",
        "12.50小时",
        certificate["number"],
        "防汛值守",
        named_volunteer.id_number_masked,
        certificate["issuer_name"],
        "https://verify.example.org/c/",
    ):
        assert expected in text, expected
    fonts = page["/Resources"]["/Font"]
    embedded = []
    for font in fonts.values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            files = {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys())
            embedded.append((str(font["/BaseFont"]), files))
    assert embedded, "no fonts"
    for base_font, files in embedded:
        assert files, f"{base_font} is not embedded"
        assert re.match(r"^/[A-Z]{6}\+", base_font), f"{base_font} is not a subset"
    # A subset: the whole font is 16 MB, the page a few dozen KB.
    assert len(response.content) < 200_000


def test_a_revoked_certificate_prints_as_revoked(as_user, named_volunteer, secretary):
    approved(named_volunteer, started_at=days_ago(10))
    certificate = issue(as_user(secretary), named_volunteer).json()
    as_user(secretary).post(f"{URL}{certificate['id']}/revoke/", {"reason": "重新出具"})
    response = as_user(secretary).get(f"{URL}{certificate['id']}/pdf/")
    text = page_text(PdfReader(io.BytesIO(response.content)).pages[0])
    assert "已作废" in text


def test_issue_service_directly_refuses_outside_staff(named_volunteer, other_community):
    approved(named_volunteer, started_at=days_ago(10))
    outsider = factories.staff_of(other_community)
    with pytest.raises(DomainError) as refused:
        services.issue_certificate(
            volunteer=named_volunteer,
            community=named_volunteer.community,
            by=outsider,
            period_start=timezone.localdate() - timedelta(days=30),
            period_end=timezone.localdate(),
        )
    assert refused.value.code == "permission_denied"


def test_someone_staff_nowhere_hears_403_without_naming_a_community(as_user, named_volunteer, resident):
    approved(named_volunteer, started_at=days_ago(10))
    # Who may issue comes before which community: no "name the community" to someone who may not issue.
    response = issue(as_user(resident), named_volunteer)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert not Certificate.objects.exists()


def test_the_service_fills_what_the_request_leaves_out(named_volunteer, community, secretary):
    approved(named_volunteer, started_at=days_ago(10), hours="3")
    secretary.phone = "13800138000"
    secretary.save(update_fields=["phone"])
    certificate, created = services.issue_certificate(
        volunteer=named_volunteer,
        by=secretary,
        period_start=timezone.localdate() - timedelta(days=30),
        period_end=timezone.localdate(),
    )
    assert created
    # The issuer's only community, its secretary in charge, the issuer handling it and their phone.
    assert certificate.community_id == community.pk
    assert certificate.issuer_name == f"{community.street.name}{community.name}"
    assert certificate.person_in_charge == secretary.real_name
    assert certificate.handling_officer == secretary.real_name
    assert certificate.contact == "13800138000"


def test_the_service_asks_a_street_admin_to_name_the_community(named_volunteer, community, other_community, street):
    approved(named_volunteer, started_at=days_ago(10))
    with pytest.raises(DomainError) as missing:
        services.issue_certificate(
            volunteer=named_volunteer,
            by=factories.admin_of(street),
            period_start=timezone.localdate() - timedelta(days=30),
            period_end=timezone.localdate(),
        )
    assert missing.value.code == "validation_error" and "community" in missing.value.fields


def test_someone_staff_nowhere_hears_403_before_what_their_request_lacks(as_user, resident):
    response = as_user(resident).post(URL, {})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"


def test_a_certificate_asked_by_someone_who_is_not_staff_is_refused_before_its_body_is_read(as_user, named_volunteer):
    # Authorization before validation: a volunteer hears 403, never what the body lacks.
    for body in ({}, {"volunteer": "x", "period_start": 1}):
        response = as_user(named_volunteer.user).post("/api/v1/volunteers/certificates/", body, format="json")
        assert response.status_code == 403, response.content
    assert not Certificate.objects.exists()


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1999-12-31"])
@pytest.mark.parametrize("field", ["period_start", "period_end"])
def test_a_period_outside_the_years_is_refused_with_400(as_user, named_volunteer, secretary, field, value):
    response = issue(as_user(secretary), named_volunteer, **{field: value})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]
    assert not Certificate.objects.exists()


def test_staff_never_certify_their_own_hours(as_user, community, secretary):
    # A secretary who volunteers too has her certificate issued by a colleague, never by herself.
    own = with_id(VolunteerFactory(community=community, user=secretary, real_name="李书记"), id_number())
    approved(own, started_at=days_ago(10))
    response = issue(as_user(secretary), own)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied" and "本人" in response.json()["detail"]
    assert not Certificate.objects.exists()
    colleague = factories.staff_of(community)
    assert issue(as_user(colleague), own).status_code == 201
