"""Records filed by hand: idempotent, hours computed by the server, overlap refused, cap flagged, scope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.volunteers.models import ServiceRecord
from tests import factories
from tests.activities.factories import ActivityFactory, image_upload
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/records/"


def body(community, *, start=None, hours=3, **extra):
    start = start or days_ago(3)
    return {
        "client_id": str(uuid.uuid4()),
        "community": community.pk,
        "content": "敬老院陪护",
        "place": "夕阳红敬老院",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=hours)).isoformat(),
        **extra,
    }


def test_file_by_hand_computes_hours_and_ignores_what_the_client_sends(as_user, volunteer, community):
    start = days_ago(3)
    payload = body(community, start=start, hours=2.5, hours_claimed="99", hours_sent="99")
    payload["hours"] = "99.00"
    response = as_user(volunteer.user).post(URL, payload)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["hours"] == "2.50"
    assert data["status"] == "pending"
    assert data["source"] == "manual"
    assert data["overlap_flag"] is False and data["over_cap_flag"] is False
    assert data["reported_started_at"] == data["started_at"]


def test_a_retry_with_the_same_client_id_answers_200_with_the_first_record(as_user, volunteer, community):
    payload = body(community)
    client = as_user(volunteer.user)
    first = client.post(URL, payload)
    again = client.post(URL, payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert ServiceRecord.objects.count() == 1


def test_overlap_by_hand_is_refused_with_409_and_nothing_written(as_user, volunteer, community):
    start = days_ago(3)
    client = as_user(volunteer.user)
    assert client.post(URL, body(community, start=start, hours=3)).status_code == 201
    response = client.post(URL, body(community, start=start + timedelta(hours=2), hours=2))
    assert response.status_code == 409
    assert response.json()["code"] == "overlapping_record"
    assert ServiceRecord.objects.count() == 1
    # Touching is not overlapping: one ends as the next begins.
    assert client.post(URL, body(community, start=start + timedelta(hours=3), hours=1)).status_code == 201


def test_a_rejected_record_does_not_block_the_same_time(as_user, volunteer, community):
    start = days_ago(3)
    record(volunteer, started_at=start, hours=2, status=ServiceRecord.Status.REJECTED)
    assert as_user(volunteer.user).post(URL, body(community, start=start, hours=2)).status_code == 201


def test_future_times_are_refused(as_user, volunteer, community):
    start = timezone.now() + timedelta(hours=1)
    response = as_user(volunteer.user).post(URL, body(community, start=start, hours=1))
    assert response.status_code == 400
    assert response.json()["fields"] == {"ended_at": ["不能登记尚未发生的服务时间"]}
    assert not ServiceRecord.objects.exists()


def test_end_before_start_is_refused(as_user, volunteer, community):
    response = as_user(volunteer.user).post(URL, body(community, hours=-1))
    assert response.status_code == 400
    assert "ended_at" in response.json()["fields"]
    assert not ServiceRecord.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "not-a-uuid"},
        {"community": 999999},
        {"content": ""},
        {"started_at": "yesterday"},
        {"evidence": 999999},
    ],
)
def test_bad_input_is_400_and_writes_nothing(as_user, volunteer, community, change):
    response = as_user(volunteer.user).post(URL, {**body(community), **change})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not ServiceRecord.objects.exists()


def test_longer_than_the_cap_is_kept_and_flagged(as_user, volunteer, community, settings):
    settings.VOLUNTEER_RECORD_CAP_HOURS = "8"
    client = as_user(volunteer.user)
    exactly = client.post(URL, body(community, start=days_ago(5), hours=8)).json()
    longer = client.post(URL, body(community, start=days_ago(4), hours=9)).json()
    assert (exactly["over_cap_flag"], longer["over_cap_flag"]) == (False, True)
    assert longer["hours"] == "9.00"


def test_evidence_must_be_the_callers_own_upload(as_user, volunteer, community):
    mine = image_upload(volunteer.user)
    theirs = image_upload(factories.UserFactory())
    client = as_user(volunteer.user)
    refused = client.post(URL, body(community, evidence=theirs.pk))
    assert refused.status_code == 400 and "evidence" in refused.json()["fields"]
    accepted = client.post(URL, body(community, evidence=mine.pk))
    assert accepted.status_code == 201
    assert accepted.json()["evidence"]["id"] == mine.pk


def test_activity_must_belong_to_the_organising_community(as_user, volunteer, community, other_community):
    elsewhere = ActivityFactory(community=other_community, counts_as_service=True)
    response = as_user(volunteer.user).post(URL, body(community, activity=elsewhere.pk))
    assert response.status_code == 400
    assert "activity" in response.json()["fields"]
    start = days_ago(3)
    here = ActivityFactory(
        community=community, counts_as_service=True, starts_at=start, ends_at=start + timedelta(hours=3)
    )
    ok = as_user(volunteer.user).post(URL, body(community, start=start, activity=here.pk))
    assert ok.status_code == 201 and ok.json()["activity_title"] == here.title


def test_a_record_naming_an_activity_falls_within_its_times(as_user, volunteer, community):
    # Hours "at" an activity held on another day are not hours at that activity.
    start = days_ago(3)
    activity = ActivityFactory(
        community=community, counts_as_service=True, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    # Another day, or running hours past the activity's check-out window.
    for when, hours in ((days_ago(10), 2), (start + timedelta(hours=1), 10)):
        response = as_user(volunteer.user).post(URL, body(community, start=when, hours=hours, activity=activity.pk))
        assert response.status_code == 400, response.json()
        assert "started_at" in response.json()["fields"]
    assert not ServiceRecord.objects.exists()


def test_only_volunteers_file_records(as_user, resident, community):
    response = as_user(resident).post(URL, body(community))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_someone_not_a_volunteer_hears_403_before_what_their_record_lacks(as_user, resident):
    response = as_user(resident).post(URL, {})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"


def test_list_shows_own_records_and_staff_see_their_communities(
    as_user, volunteer, community, other_community, secretary, other_secretary
):
    mine = record(volunteer, started_at=days_ago(5))
    served_elsewhere = record(volunteer, community=other_community, started_at=days_ago(4))
    stranger = record(VolunteerFactory(community=other_community), community=other_community)

    own = as_user(volunteer.user).get(URL).json()
    assert {row["id"] for row in own["results"]} == {mine.pk, served_elsewhere.pk}
    staff = as_user(secretary).get(URL).json()
    assert {row["id"] for row in staff["results"]} == {mine.pk}
    other = as_user(other_secretary).get(URL).json()
    assert {row["id"] for row in other["results"]} == {served_elsewhere.pk, stranger.pk}
    assert as_user(other_secretary).get(f"{URL}{mine.pk}/").status_code == 404
    assert as_user(factories.UserFactory()).get(f"{URL}{mine.pk}/").status_code == 404


def test_street_admin_sees_the_streets_records_and_filters(as_user, volunteer, community, street):
    pending = record(volunteer, started_at=days_ago(5))
    done = approved(volunteer, started_at=days_ago(4))
    admin = factories.admin_of(street)
    rows = as_user(admin).get(URL, {"status": "approved"}).json()["results"]
    assert [row["id"] for row in rows] == [done.pk]
    assert pending.pk != done.pk


def test_list_query_count_does_not_grow_with_rows(as_user, community, secretary):
    def count_queries() -> int:
        client = as_user(secretary)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    for index in range(2):
        approved(VolunteerFactory(community=community), started_at=days_ago(10 + index))
    few = count_queries()
    for index in range(8):
        volunteer = VolunteerFactory(community=community)
        approved(volunteer, started_at=days_ago(20 + index), evidence=image_upload(volunteer.user))
    assert count_queries() == few


def test_staff_reading_others_records_is_audited(as_user, volunteer, secretary):
    from backend.accounts.models import PersonalDataAccess

    row = record(volunteer)
    as_user(secretary).get(f"{URL}{row.pk}/")
    as_user(volunteer.user).get(f"{URL}{row.pk}/")
    accesses = list(PersonalDataAccess.objects.values_list("actor_id", "subject_id", "what"))
    assert accesses == [(secretary.pk, volunteer.user_id, "service_record")]


def test_hours_are_rounded_half_up_to_two_places(as_user, volunteer, community):
    start = days_ago(2)
    payload = body(community, start=start)
    payload["ended_at"] = (start + timedelta(minutes=20)).isoformat()
    assert as_user(volunteer.user).post(URL, payload).json()["hours"] == "0.33"
    payload = body(community, start=start + timedelta(hours=1))
    payload["ended_at"] = (start + timedelta(hours=1, seconds=18)).isoformat()
    assert as_user(volunteer.user).post(URL, payload).json()["hours"] == "0.01"
    assert Decimal("0.01") in set(ServiceRecord.objects.values_list("hours", flat=True))


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00", "0001-01-01T07:59:59+08:00", "9999-12-31T23:59:59-12:00"])
@pytest.mark.parametrize("field", ["started_at", "ended_at"])
def test_far_dates_are_refused_with_400_and_nothing_written(as_user, volunteer, community, field, value):
    response = as_user(volunteer.user).post(URL, {**body(community), field: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]
    assert not ServiceRecord.objects.exists()
