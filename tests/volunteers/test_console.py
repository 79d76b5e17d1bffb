"""The volunteers console: scoped lists and the review and certificate actions, all through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from backend.volunteers.models import Certificate, RecordCorrection, ServiceRecord
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, id_number, record, with_id

pytestmark = pytest.mark.django_db
RECORDS = "admin:volunteers_servicerecord_changelist"


def test_records_are_scoped(client, volunteer, other_community, secretary):
    mine = record(volunteer)
    record(VolunteerFactory(community=other_community), community=other_community)
    client.force_login(secretary)
    response = client.get(reverse(RECORDS))
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
    other = ServiceRecord.objects.exclude(pk=mine.pk).get()
    assert client.get(reverse("admin:volunteers_servicerecord_change", args=[other.pk])).status_code in (302, 404)


def test_bulk_approval_leaves_flagged_records_for_a_confirmed_review(client, volunteer, secretary):
    plain = record(volunteer, started_at=days_ago(9))
    flagged = record(volunteer, started_at=days_ago(8), overlap_flag=True)
    client.force_login(secretary)
    ids = [plain.pk, flagged.pk]
    client.post(reverse(RECORDS), {"action": "approve", ACTION_CHECKBOX_NAME: ids})
    assert dict(ServiceRecord.objects.values_list("pk", "status")) == {plain.pk: "approved", flagged.pk: "pending"}
    client.post(reverse(RECORDS), {"action": "approve_flagged", ACTION_CHECKBOX_NAME: [flagged.pk]})
    flagged.refresh_from_db()
    assert flagged.status == "approved" and flagged.approved_by == secretary


def test_reject_asks_for_a_reason_first(client, volunteer, secretary):
    row = record(volunteer)
    client.force_login(secretary)
    form = client.post(reverse(RECORDS), {"action": "reject", ACTION_CHECKBOX_NAME: [row.pk]})
    assert form.status_code == 200 and "原因" in form.content.decode()
    row.refresh_from_db()
    assert row.status == "pending"
    client.post(reverse(RECORDS), {"action": "reject", "apply": "1", "reason": "重复", ACTION_CHECKBOX_NAME: [row.pk]})
    row.refresh_from_db()
    assert (row.status, row.reject_reason) == ("rejected", "重复")


def test_correct_one_record_from_the_console(client, volunteer, secretary):
    start = days_ago(5)
    row = approved(volunteer, started_at=start, hours=2)
    client.force_login(secretary)
    client.post(
        reverse(RECORDS),
        {
            "action": "correct",
            "apply": "1",
            "started_at": timezone.localtime(start).strftime("%Y-%m-%d %H:%M"),
            "ended_at": timezone.localtime(start + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M"),
            "reason": "签退漏记",
            ACTION_CHECKBOX_NAME: [row.pk],
        },
    )
    row.refresh_from_db()
    assert str(row.hours) == "4.00"
    assert RecordCorrection.objects.get().corrected_by == secretary


def test_issue_and_revoke_certificates_from_the_console(client, community, secretary):
    volunteer = with_id(VolunteerFactory(community=community, real_name="陈晨"), id_number())
    approved(volunteer, started_at=days_ago(10), hours=3)
    client.force_login(secretary)
    today = timezone.localdate()
    client.post(
        reverse("admin:volunteers_volunteer_changelist"),
        {
            "action": "issue_certificate",
            "apply": "1",
            "community": community.pk,
            "period_start": (today - timedelta(days=30)).isoformat(),
            "period_end": today.isoformat(),
            ACTION_CHECKBOX_NAME: [volunteer.pk],
        },
    )
    certificate = Certificate.objects.get()
    assert str(certificate.hours) == "3.00" and certificate.issued_by == secretary
    page = client.get(reverse("admin:volunteers_certificate_change", args=[certificate.pk]))
    assert f"/api/v1/volunteers/certificates/{certificate.pk}/pdf/" in page.content.decode()
    client.post(
        reverse("admin:volunteers_certificate_changelist"),
        {"action": "revoke", "apply": "1", "reason": "重新出具", ACTION_CHECKBOX_NAME: [certificate.pk]},
    )
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None and certificate.revoke_reason == "重新出具"


@pytest.mark.parametrize("far", ["0001-01-01", "9999-12-31"])
def test_the_console_refuses_dates_outside_the_years_and_writes_nothing(client, community, secretary, far):
    volunteer = with_id(VolunteerFactory(community=community, real_name="陈晨"), id_number())
    row = approved(volunteer, started_at=days_ago(5), hours=2)
    client.force_login(secretary)
    issue = client.post(
        reverse("admin:volunteers_volunteer_changelist"),
        {
            "action": "issue_certificate",
            "apply": "1",
            "community": community.pk,
            "period_start": far,
            "period_end": far,
            ACTION_CHECKBOX_NAME: [volunteer.pk],
        },
    )
    assert issue.status_code == 200 and "2000" in issue.content.decode()
    correct = client.post(
        reverse(RECORDS),
        {
            "action": "correct",
            "apply": "1",
            "started_at": f"{far} 00:00",
            "ended_at": f"{far} 02:00",
            "reason": "签退漏记",
            ACTION_CHECKBOX_NAME: [row.pk],
        },
    )
    assert correct.status_code == 200 and "2000" in correct.content.decode()
    assert not Certificate.objects.exists() and not RecordCorrection.objects.exists()
