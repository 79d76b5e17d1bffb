"""Staff reading certificates and the records ledger are in the personal-data audit log; what
volunteers gives a person's export and takes away when the account is deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import PersonalDataAccess
from backend.volunteers import selectors, services
from backend.volunteers.models import Volunteer
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, with_id

pytestmark = pytest.mark.django_db

CERTIFICATES = "/api/v1/volunteers/certificates/"


@pytest.fixture
def certificate(community, secretary):
    volunteer = with_id(VolunteerFactory(community=community, real_name="王五"))
    approved(volunteer, started_at=days_ago(20), approved_by=secretary)
    certificate, _ = services.issue_certificate(
        volunteer=volunteer,
        community=community,
        by=secretary,
        period_start=timezone.localdate() - dt.timedelta(days=60),
        period_end=timezone.localdate() - dt.timedelta(days=1),
        service_summary="社区服务",
    )
    return certificate


def reads(what: str) -> set[tuple[int, int, int]]:
    return set(PersonalDataAccess.objects.filter(what=what).values_list("actor_id", "subject_id", "object_id"))


def test_staff_reading_certificates_is_audited(certificate, secretary, as_user):
    client = as_user(secretary)
    owner = certificate.volunteer.user_id
    expected = {(secretary.pk, owner, certificate.pk)}
    assert client.get(CERTIFICATES).status_code == 200
    assert reads("certificate") == expected
    assert PersonalDataAccess.objects.filter(what="certificate").count() == 1
    assert client.get(f"{CERTIFICATES}{certificate.pk}/").status_code == 200
    assert client.get(f"{CERTIFICATES}{certificate.pk}/pdf/").status_code == 200
    assert PersonalDataAccess.objects.filter(what="certificate").count() == 3


def test_a_volunteer_reading_their_own_certificate_is_not_recorded(certificate, as_user):
    client = as_user(certificate.volunteer.user)
    assert client.get(CERTIFICATES).json()["count"] == 1
    assert client.get(f"{CERTIFICATES}{certificate.pk}/").status_code == 200
    assert not PersonalDataAccess.objects.exists()


def test_the_records_ledger_export_is_audited(certificate, community, secretary, as_user):
    response = as_user(secretary).get("/api/v1/volunteers/records/export/", {"community": community.pk})
    assert response.status_code == 200
    record = certificate.volunteer.records.get()
    assert reads("service_record") == {(secretary.pk, certificate.volunteer.user_id, record.pk)}


def test_certificate_lists_do_not_grow_in_queries(community, secretary, as_user):
    client = as_user(secretary)

    def issue(n: int) -> None:
        for _ in range(n):
            volunteer = with_id(VolunteerFactory(community=community))
            approved(volunteer, started_at=days_ago(20), approved_by=secretary)
            services.issue_certificate(
                volunteer=volunteer,
                community=community,
                by=secretary,
                period_start=timezone.localdate() - dt.timedelta(days=60),
                period_end=timezone.localdate() - dt.timedelta(days=1),
                service_summary="社区服务",
            )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CERTIFICATES).status_code == 200
        return len(queries)

    issue(2)
    few = count()
    issue(5)
    assert count() == few


def test_erasure_keeps_the_number_and_the_certificate(certificate, api):
    volunteer = certificate.volunteer
    verified = api.get(f"/api/v1/certificates/verify/{certificate.number}/").json()
    services.erase_personal_data(volunteer.user, now=timezone.now())
    volunteer = Volunteer.objects.get(pk=volunteer.pk)
    assert (volunteer.real_name, volunteer.id_type, volunteer.id_number_masked, volunteer.id_number_hash) == (
        "",
        "",
        "",
        None,
    )
    assert api.get(f"/api/v1/certificates/verify/{certificate.number}/").json() == verified
    section = selectors.personal_data(volunteer.user)
    assert section["volunteer"]["id_number"] is None
    assert section["certificates"][0]["volunteer_name"] == "王五"


def test_someone_who_is_no_volunteer_has_empty_sections(resident):
    assert selectors.personal_data(resident) == {
        "volunteer": None,
        "service_records": [],
        "record_corrections": [],
        "certificates": [],
    }
