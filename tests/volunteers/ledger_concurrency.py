"""Concurrent retries of every write that adds hours, on PostgreSQL: threads released together.

Each thread has its own connection. For several volunteers at once, the same writes are repeated
(one client_id) and raced by different ones (other client_ids, other staff); afterwards the ledger
must hold one row per write, points once per hour, and each total must equal the hours served.
Run by tests/volunteers/test_ledger_concurrency.py (make test-services) and, with its figure, by
tests/security/test_ledger.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from backend.activities import services as activity_services
from backend.activities.models import Activity, CheckIn
from backend.core.errors import DomainError
from backend.members.models import PointsEntry, PointsRule
from backend.volunteers import selectors, services
from backend.volunteers.models import Certificate, RecordCorrection, ServiceRecord
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, north_of, party_member, token
from tests.concurrency import together
from tests.volunteers.factories import VolunteerFactory, with_id
from tests.volunteers.ledger_machine import hours_of

VOLUNTEERS = 4
THREADS = 6  # per volunteer and write: 24 threads released together


def refused_or(results: list[Any], *codes: str) -> list[Any]:
    """The results that are not one of the expected refusals; anything else unexpected fails."""
    kept = []
    for result in results:
        if isinstance(result, DomainError) and result.code in codes:
            continue
        assert not isinstance(result, Exception), repr(result)
        kept.append(result)
    return kept


def run_concurrent_retries() -> str:
    """Runs the whole check (in a transactional test on PostgreSQL); answers the figure's line."""
    # Transactional tests flush the rows the migrations loaded: the rule approvals award points by.
    PointsRule.objects.get_or_create(
        code="volunteer_hour", street=None, defaults={"name": "志愿服务(每小时)", "points": 1, "yearly_cap": 200}
    )
    community = factories.CommunityFactory()
    staff = [factories.staff_of(community) for _ in range(THREADS)]
    starts = (timezone.localtime() - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    activity = ActivityFactory(
        community=community,
        counts_as_service=True,
        category=Activity.Category.VOLUNTEER_SERVICE,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
    )
    lat, lon = north_of((float(activity.latitude), float(activity.longitude)), 20)
    volunteers = []
    for _ in range(VOLUNTEERS):
        volunteer = with_id(VolunteerFactory(community=community, user=party_member(community).user))
        enrol(activity, volunteer.user)
        volunteers.append(volunteer)
    arrive, leave = starts + timedelta(minutes=5), starts + timedelta(hours=2, minutes=35)
    for volunteer in volunteers:
        activity_services.check_in(
            activity=activity,
            user=volunteer.user,
            client_id=uuid.uuid4(),
            token=token(activity, now=arrive),
            latitude=lat,
            longitude=lon,
            now=arrive,
        )

    def check_out(volunteer, client_id):
        return lambda: activity_services.check_out(
            activity=activity,
            user=volunteer.user,
            client_id=client_id,
            token=token(activity, now=leave),
            latitude=lat,
            longitude=lon,
            now=leave,
        )

    # 1. Check-outs: the same client_id retried, and a second phone (another client_id) at once.
    calls, whose = [], []
    for volunteer in volunteers:
        client_id = uuid.uuid4()
        calls += [check_out(volunteer, client_id) for _ in range(THREADS - 1)] + [check_out(volunteer, uuid.uuid4())]
        whose += [volunteer] * THREADS
    for volunteer, result in zip(whose, together(calls, timeout=180), strict=True):
        if isinstance(result, DomainError) and result.code == "already_checked_in":
            continue  # the other phone's attempt, once one of them was in
        assert not isinstance(result, Exception), repr(result)
        assert result.check_in == CheckIn.objects.get(user=volunteer.user, kind="out")

    # 2. A record filed by hand, the same client_id from every thread.
    by_hand_start = starts - timedelta(days=1)
    filings = {volunteer.pk: uuid.uuid4() for volunteer in volunteers}
    refused_or(
        together(
            [
                lambda volunteer=volunteer: services.file_record(
                    by=volunteer.user,
                    community=community,
                    content="社区环境整治",
                    started_at=by_hand_start,
                    ended_at=by_hand_start + timedelta(hours=1, minutes=30),
                    client_id=filings[volunteer.pk],
                )
                for volunteer in volunteers
                for _ in range(THREADS)
            ]
        )
    )
    records = list(ServiceRecord.objects.filter(volunteer__in=volunteers))

    # 3. Every record approved by several staff at once.
    refused_or(
        together(
            [
                lambda record=record, by=by: services.approve_record(record=record, by=by, confirm_flags=True)
                for record in records
                for by in staff
            ]
        ),
        "invalid_transition",
    )

    # 4. The check-out records corrected to the same new end by several staff at once (a retried form).
    corrected_end = leave - timedelta(minutes=5)
    refused_or(
        together(
            [
                lambda record=record, by=by: services.correct_record(
                    record=record, by=by, started_at=record.started_at, ended_at=corrected_end, reason="核实后更正"
                )
                for record in records
                if record.source == "checkout"
                for by in staff
            ]
        ),
        "validation_error",
    )

    # 5. Certificates: the same client_id from one officer, and other officers issuing too.
    period = (starts.date() - timedelta(days=2), timezone.localdate())
    issued_ids = {volunteer.pk: uuid.uuid4() for volunteer in volunteers}
    refused_or(
        together(
            [
                lambda volunteer=volunteer, by=by, client_id=client_id: services.issue_certificate(
                    volunteer=volunteer,
                    community=community,
                    by=by,
                    period_start=period[0],
                    period_end=period[1],
                    client_id=client_id,
                )
                for volunteer in volunteers
                for by, client_id in [(staff[0], issued_ids[volunteer.pk])] * (THREADS - 1) + [(staff[1], uuid.uuid4())]
            ]
        ),
        "conflict",
    )

    # What each volunteer served: 09:05–11:30 as corrected, and 1.5 h by hand.
    served = hours_of(arrive, corrected_end) + Decimal("1.50")
    totals = [selectors.total_hours(volunteer.pk) for volunteer in volunteers]
    lost = sum((max(Decimal(0), served - total) for total in totals), Decimal(0))
    doubled = sum((max(Decimal(0), total - served) for total in totals), Decimal(0))
    assert (lost, doubled) == (0, 0), totals
    for volunteer in volunteers:
        mine = ServiceRecord.objects.filter(volunteer=volunteer)
        assert mine.filter(source="checkout").count() == 1
        assert mine.filter(source="manual").count() == 1
        assert CheckIn.objects.filter(user=volunteer.user, kind="out").count() == 1
        assert RecordCorrection.objects.filter(record__volunteer=volunteer).count() == 1
        certificates = Certificate.objects.filter(volunteer=volunteer)
        assert certificates.count() == 1 and certificates.get().hours == served
        # Points: one award per whole hour of each record (2 + 1), never twice.
        assert PointsEntry.objects.filter(user=volunteer.user, rule_code="volunteer_hour").count() == 3
    assert list(selectors.effective_value_mismatches()) == []
    return (
        f"0 lost, 0 doubled ({VOLUNTEERS} volunteers × {THREADS} threads each: check-outs, records filed, "
        "approvals, corrections, certificates; one row each, points once per hour)"
    )
