"""Approval, rejection and append-only corrections: only the organiser's staff, once, with history."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from backend.core.errors import DomainError
from backend.members.models import PointsEntry, PointsRule
from backend.volunteers import selectors, services
from backend.volunteers.models import RecordCorrection, ServiceRecord
from tests import factories
from tests.activities.factories import party_member
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/records/"


def test_the_organisers_staff_approve_and_the_volunteer_hears(as_user, volunteer, secretary, captured_events):
    row = record(volunteer, hours=3)
    with captured_events(expected=1):
        response = as_user(secretary).post(f"{URL}{row.pk}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert response.json()["approved_by"] == secretary.pk
    assert [(e, d["id"]) for e, d, _a in captured_events] == [("record.approved", row.pk)]
    assert captured_events[0][2].ids == (volunteer.user_id,)


@pytest.mark.parametrize("who", ["volunteer", "other_staff", "stranger", "grid_worker"])
def test_everyone_else_gets_404_and_nothing_changes(as_user, volunteer, community, other_community, who):
    row = record(volunteer)
    caller = {
        "volunteer": volunteer.user,
        "other_staff": factories.staff_of(other_community),
        "stranger": factories.UserFactory(),
        "grid_worker": factories.UserFactory(),
    }[who]
    if who == "grid_worker":
        factories.grant(caller, "grid_worker", factories.GridFactory(community=community))
    client = as_user(caller)
    for action, payload in (
        ("approve/", {}),
        ("reject/", {"reason": "x"}),
        (
            "corrections/",
            {"started_at": days_ago(9).isoformat(), "ended_at": days_ago(9, hour=10).isoformat(), "reason": "x"},
        ),
    ):
        response = client.post(f"{URL}{row.pk}/{action}", payload)
        assert response.status_code == 404, (action, response.content)
        assert response.json()["code"] == "not_found"
    row.refresh_from_db()
    assert row.status == "pending" and not RecordCorrection.objects.exists()


def test_a_second_approval_is_refused(as_user, volunteer, secretary):
    row = record(volunteer)
    client = as_user(secretary)
    assert client.post(f"{URL}{row.pk}/approve/").status_code == 200
    again = client.post(f"{URL}{row.pk}/approve/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_staff_cannot_approve_their_own_hours(as_user, community, secretary):
    own = record(VolunteerFactory(community=community, user=secretary))
    response = as_user(secretary).post(f"{URL}{own.pk}/approve/")
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == "pending"


def test_flagged_records_need_a_confirmed_review(as_user, volunteer, secretary):
    row = record(volunteer, hours=10, over_cap_flag=True)
    client = as_user(secretary)
    refused = client.post(f"{URL}{row.pk}/approve/")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    row.refresh_from_db()
    assert row.status == "pending"
    assert client.post(f"{URL}{row.pk}/approve/", {"confirm_flags": True}).json()["status"] == "approved"


def test_points_for_each_whole_hour_once_through_the_members_ledger(community, secretary):
    member = party_member(community)
    volunteer = VolunteerFactory(community=community, user=member.user)
    row = record(volunteer, hours="3.75")
    services.approve_record(record=row, by=secretary)
    entries = PointsEntry.objects.filter(user=member.user, rule_code="volunteer_hour")
    assert sorted(entries.values_list("source", flat=True)) == [f"record:{row.pk}:{n}" for n in (1, 2, 3)]
    assert sum(entries.values_list("points", flat=True)) == 3
    with pytest.raises(DomainError):
        services.approve_record(record=row, by=secretary)
    assert entries.count() == 3


def test_no_points_for_volunteers_who_are_not_party_members(volunteer, secretary):
    services.approve_record(record=record(volunteer, hours=4), by=secretary)
    assert not PointsEntry.objects.exists()


def test_reject_needs_a_reason_and_only_pending_records(as_user, volunteer, secretary):
    row = record(volunteer)
    client = as_user(secretary)
    blank = client.post(f"{URL}{row.pk}/reject/", {"reason": " "})
    assert blank.status_code == 400 and "reason" in blank.json()["fields"]
    row.refresh_from_db()
    assert row.status == "pending"
    done = client.post(f"{URL}{row.pk}/reject/", {"reason": "无佐证材料"})
    assert done.json()["status"] == "rejected" and done.json()["reject_reason"] == "无佐证材料"
    assert client.post(f"{URL}{row.pk}/approve/").status_code == 409


def test_staff_of_another_community_hear_403_before_what_their_input_lacks(volunteer, other_community):
    row = record(volunteer)
    outsider = factories.staff_of(other_community)
    with pytest.raises(DomainError) as rejected:
        services.reject_record(record=row, by=outsider, reason=" ")
    assert rejected.value.code == "permission_denied"
    with pytest.raises(DomainError) as corrected:
        services.correct_record(record=row, by=outsider, started_at=days_ago(1), ended_at=days_ago(2), reason="")
    assert corrected.value.code == "permission_denied"
    row.refresh_from_db()
    assert row.status == "pending" and not RecordCorrection.objects.exists()


def test_rejecting_one_of_two_overlapping_records_clears_the_others_flag(volunteer, secretary):
    start = days_ago(4)
    first = record(volunteer, started_at=start, hours=2, overlap_flag=True)
    second = record(volunteer, started_at=start + timedelta(hours=1), hours=2, overlap_flag=True)
    services.reject_record(record=second, by=secretary, reason="重复登记")
    first.refresh_from_db()
    assert first.overlap_flag is False


def test_corrections_are_appended_and_the_latest_counts(as_user, volunteer, secretary):
    start = days_ago(6)
    row = approved(volunteer, started_at=start, hours=2)
    client = as_user(secretary)
    first = client.post(
        f"{URL}{row.pk}/corrections/",
        {"started_at": start.isoformat(), "ended_at": (start + timedelta(hours=3)).isoformat(), "reason": "签退漏记"},
    )
    assert first.status_code == 201, first.content
    assert (first.json()["previous_hours"], first.json()["hours"]) == ("2.00", "3.00")
    second = client.post(
        f"{URL}{row.pk}/corrections/",
        {"started_at": start.isoformat(), "ended_at": (start + timedelta(hours=2.5)).isoformat(), "reason": "核实"},
    )
    assert second.json()["previous_hours"] == "3.00"
    row.refresh_from_db()
    assert row.hours == Decimal("2.50")
    assert (row.reported_started_at, row.reported_ended_at) == (start, start + timedelta(hours=2))
    assert selectors.total_hours(volunteer.pk) == Decimal("2.50")

    for viewer in (volunteer.user, secretary):
        history = as_user(viewer).get(f"{URL}{row.pk}/corrections/")
        assert history.status_code == 200
        assert [c["hours"] for c in history.json()] == ["3.00", "2.50"]
        assert [c["reason"] for c in history.json()] == ["签退漏记", "核实"]
    assert as_user(factories.UserFactory()).get(f"{URL}{row.pk}/corrections/").status_code == 404
    assert list(selectors.effective_value_mismatches()) == []


def test_a_correction_is_append_only():
    correction_model = RecordCorrection
    with pytest.raises(ValueError, match="append-only"):
        correction_model(pk=1).delete()


def test_a_correction_that_overlaps_another_record_is_refused(volunteer, secretary):
    start = days_ago(6)
    row = record(volunteer, started_at=start, hours=2)
    record(volunteer, started_at=start + timedelta(hours=3), hours=2)
    with pytest.raises(DomainError) as refused:
        services.correct_record(
            record=row, by=secretary, started_at=start, ended_at=start + timedelta(hours=4), reason="x"
        )
    assert refused.value.code == "overlapping_record"
    assert not RecordCorrection.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"reason": ""},
        {"ended_at": "2000-01-01T00:00:00+08:00"},
        {"ended_at": (timezone.now() + timedelta(days=1)).isoformat()},
        {"started_at": "not a time"},
    ],
)
def test_bad_corrections_are_400_and_write_nothing(as_user, volunteer, secretary, change):
    start = days_ago(6)
    row = record(volunteer, started_at=start, hours=2)
    payload = {"started_at": start.isoformat(), "ended_at": (start + timedelta(hours=1)).isoformat(), "reason": "r"}
    response = as_user(secretary).post(f"{URL}{row.pk}/corrections/", {**payload, **change})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not RecordCorrection.objects.exists()


def test_rejected_records_are_not_corrected(volunteer, secretary):
    row = record(volunteer, status=ServiceRecord.Status.REJECTED)
    with pytest.raises(DomainError) as refused:
        services.correct_record(
            record=row, by=secretary, started_at=days_ago(3), ended_at=days_ago(3, hour=11), reason="x"
        )
    assert refused.value.code == "invalid_transition"


def test_a_correction_upwards_after_approval_awards_the_new_hours_once(community, secretary):
    member = party_member(community)
    volunteer = VolunteerFactory(community=community, user=member.user)
    start = days_ago(8)
    row = record(volunteer, started_at=start, hours=1)
    services.approve_record(record=row, by=secretary)
    services.correct_record(
        record=row, by=secretary, started_at=start, ended_at=start + timedelta(hours=3), reason="漏记"
    )
    assert PointsEntry.objects.filter(user=member.user).count() == 3


def test_the_check_finds_a_tampered_effective_value(volunteer, secretary):
    row = record(volunteer, hours=2)
    assert list(selectors.effective_value_mismatches()) == []
    ServiceRecord.objects.filter(pk=row.pk).update(hours=Decimal("5.00"))
    found = list(selectors.effective_value_mismatches())
    assert [m.record_id for m in found] == [row.pk]
    assert services.check_effective_hours() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_approve_once_and_award_points_once(community):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE) need PostgreSQL; SQLite serialises writers anyway")
    # A transactional test that ran earlier flushed the tables, and with them the default rules the
    # migrations load: put back the one this test awards.
    PointsRule.objects.get_or_create(
        code="volunteer_hour", street=None, defaults={"name": "志愿服务(每小时)", "points": 1, "yearly_cap": 200}
    )
    member = party_member(community)
    volunteer = VolunteerFactory(community=community, user=member.user)
    row = record(volunteer, hours=2)
    approvers = [factories.staff_of(community) for _ in range(4)]
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def approve(user):
        try:
            barrier.wait(timeout=60)
            services.approve_record(record=row, by=user)
            outcomes.append("approved")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(outcomes) == ["approved", "invalid_transition", "invalid_transition", "invalid_transition"]
    assert PointsEntry.objects.filter(user=member.user).count() == 2
    row.refresh_from_db()
    assert row.status == "approved"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("approve", {"confirm_flags": "perhaps"}),
        ("reject", {"reason": "x" * 600}),
        ("corrections", {"reason": "多记"}),
        ("corrections", {"started_at": "2026-03-01T09:00:00+08:00", "ended_at": "2026-03-01T10:00:00+08:00"}),
    ],
)
def test_staff_hear_they_may_not_decide_their_own_hours_before_what_the_body_lacks(
    as_user, community, secretary, action, body
):
    own = record(VolunteerFactory(community=community, user=secretary), hours=3)
    response = as_user(secretary).post(f"{URL}{own.pk}/{action}/", body, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"
    own.refresh_from_db()
    assert own.status == "pending" and not RecordCorrection.objects.exists()
