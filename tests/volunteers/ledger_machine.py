"""A model of the hours ledger that Hypothesis drives against the real services, step by step.

Check-ins and check-outs (phone, through the activities services and the after-commit listener
that files the record), their retries with the same client_id, records filed by hand and their
retries, approvals, rejections, corrections (append-only rows), certificates, their retries and
revocations, and replays of the check-out listener and its sweep. The model below keeps, on its
own, what each of those should leave; after every step the database must agree with it:

- a volunteer's total (the selector every screen uses) equals the model's approved sum and the
  sum rebuilt from the ledger itself (reported times, else the latest correction);
- every certificate still says the hours it said at issue, and they add up to its snapshot;
- nothing counted twice: one check-in and one check-out per person and activity, one record per
  check-out, one record per client_id, and exactly the records the model expects.

Used by tests/volunteers/test_ledger_state_machine.py (a few runs in `make test`) and by
tests/security/test_ledger.py (many more, with a figure).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count
from django.test import TestCase
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend.activities import registry
from backend.activities import services as activity_services
from backend.activities.models import Activity, CheckIn
from backend.core.errors import DomainError
from backend.volunteers import selectors, services
from backend.volunteers.models import Certificate, RecordCorrection, ServiceRecord
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, north_of, token
from tests.volunteers.factories import VolunteerFactory, with_id

VOLUNTEERS = 2
ACTIVITIES = 3
DAYS = 6  # records and activities fall on these days, starting 20 days ago
CENT = Decimal("0.01")


def hours_of(started_at: datetime, ended_at: datetime) -> Decimal:
    """Written apart from the code under test: whole seconds, to the hundredth, half up."""
    seconds = int((ended_at - started_at).total_seconds())
    return (Decimal(seconds) / Decimal(3600)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Record:
    pk: int
    volunteer: int
    source: str
    start: datetime
    end: datetime
    status: str = "pending"
    client_id: uuid.UUID | None = None

    @property
    def hours(self) -> Decimal:
        return hours_of(self.start, self.end)


@dataclass
class Issued:
    pk: int
    volunteer: int
    period: tuple[date, date]
    hours: Decimal
    client_id: uuid.UUID
    revoked: bool = False


@dataclass
class Stats:
    runs: int = 0
    steps: int = 0
    refusals: int = 0  # steps the services refused as the model predicted
    retries: int = 0  # repeats answered with the first result
    corrections: int = 0
    certificates: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


STATS = Stats()


class LedgerMachine(RuleBasedStateMachine):
    """One run: its own community, staff, volunteers and activities, rolled back at the end."""

    def __init__(self) -> None:
        super().__init__()
        # Each run in a savepoint of the test's transaction: the next run starts from nothing.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.records: dict[int, Record] = {}
        self.checkins: dict[tuple[int, int], tuple[uuid.UUID, datetime, int]] = {}
        self.checkouts: dict[tuple[int, int], tuple[uuid.UUID, datetime, int]] = {}
        self.certificates: list[Issued] = []
        STATS.runs += 1

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def world(self) -> None:
        self.community = factories.CommunityFactory()
        self.staff = factories.staff_of(self.community)
        self.volunteers = [with_id(VolunteerFactory(community=self.community)) for _ in range(VOLUNTEERS)]
        first = (timezone.localtime() - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.days = [first + timedelta(days=n) for n in range(DAYS)]
        self.today = timezone.localdate()
        self.activities: list[Activity] = []
        for n in range(ACTIVITIES):
            starts = self.days[n] + timedelta(hours=9)
            activity = ActivityFactory(
                community=self.community,
                counts_as_service=True,
                category=Activity.Category.VOLUNTEER_SERVICE,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
            )
            for volunteer in self.volunteers:
                enrol(activity, volunteer.user)
            self.activities.append(activity)
        self.position = north_of((float(self.activities[0].latitude), float(self.activities[0].longitude)), 20)

    # Helpers -------------------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        STATS.steps += 1
        STATS.by_rule[name] = STATS.by_rule.get(name, 0) + 1

    def _attend(self, kind: str, v: int, a: int, client_id: uuid.UUID, at: datetime):
        activity = self.activities[a]
        call = activity_services.check_in if kind == "in" else activity_services.check_out
        # The listener that files the record runs after commit, as in production.
        with TestCase.captureOnCommitCallbacks(execute=True):
            return call(
                activity=activity,
                user=self.volunteers[v].user,
                client_id=client_id,
                token=token(activity, now=at),
                latitude=self.position[0],
                longitude=self.position[1],
                accuracy=10,
                now=at,
            )

    def _overlaps(self, v: int, start: datetime, end: datetime, *, exclude: int | None = None) -> bool:
        return any(
            r.volunteer == v and r.status != "rejected" and r.pk != exclude and r.start < end and r.end > start
            for r in self.records.values()
        )

    def _expect_refusal(self, code: str, call) -> None:
        try:
            call()
        except DomainError as refusal:
            assert refusal.code == code, (refusal.code, code, refusal.detail)
            STATS.refusals += 1
            return
        raise AssertionError(f"expected {code}, the service accepted")

    def _pick(self, records: list[Record], index: int) -> Record:
        return records[index % len(records)]

    def _pick_record(self, index: int, prefer: str | None) -> Record:
        """A record, among those in the status `prefer` when there are any (most steps should do something)."""
        records = sorted(self.records.values(), key=lambda r: r.pk)
        preferred = [r for r in records if r.status == prefer]
        return self._pick(preferred or records, index)

    def _db_record(self, record: Record) -> ServiceRecord:
        return ServiceRecord.objects.get(pk=record.pk)

    # Check-in and check-out ---------------------------------------------------------------------

    @rule(v=st.integers(0, VOLUNTEERS - 1), a=st.integers(0, ACTIVITIES - 1), minutes=st.integers(-10, 60))
    def check_in(self, v: int, a: int, minutes: int) -> None:
        self._count("check_in")
        at = self.activities[a].starts_at + timedelta(minutes=minutes)
        client_id = uuid.uuid4()
        if (v, a) in self.checkins:
            self._expect_refusal("already_checked_in", lambda: self._attend("in", v, a, client_id, at))
            return
        result = self._attend("in", v, a, client_id, at)
        assert result.created
        self.checkins[(v, a)] = (client_id, at, result.check_in.pk)

    @precondition(lambda self: self.checkins)
    @rule(index=st.integers(0, 100), later=st.integers(0, 600))
    def retry_check_in(self, index: int, later: int) -> None:
        """The same client_id again, even after the window closed: the first answer, nothing new."""
        self._count("retry_check_in")
        (v, a), (client_id, at, pk) = sorted(self.checkins.items())[index % len(self.checkins)]
        result = self._attend("in", v, a, client_id, at + timedelta(minutes=later))
        assert not result.created and result.check_in.pk == pk
        STATS.retries += 1

    @rule(v=st.integers(0, VOLUNTEERS - 1), a=st.integers(0, ACTIVITIES - 1), minutes=st.integers(20, 200))
    def check_out(self, v: int, a: int, minutes: int) -> None:
        self._count("check_out")
        client_id = uuid.uuid4()
        activity = self.activities[a]
        if (v, a) not in self.checkins:
            at = min(activity.starts_at + timedelta(minutes=minutes), activity.ends_at)
            self._expect_refusal("not_checked_in", lambda: self._attend("out", v, a, client_id, at))
            return
        arrived = self.checkins[(v, a)][1]
        at = min(arrived + timedelta(minutes=minutes), activity.ends_at)
        if (v, a) in self.checkouts:
            self._expect_refusal("already_checked_in", lambda: self._attend("out", v, a, client_id, at))
            return
        result = self._attend("out", v, a, client_id, at)
        assert result.created
        record = ServiceRecord.objects.get(volunteer=self.volunteers[v], activity=activity, source="checkout")
        self.checkouts[(v, a)] = (client_id, at, result.check_in.pk)
        self.records[record.pk] = Record(pk=record.pk, volunteer=v, source="checkout", start=arrived, end=at)

    @rule(
        v=st.integers(0, VOLUNTEERS - 1),
        a=st.integers(0, ACTIVITIES - 1),
        arrive=st.integers(-10, 60),
        stay=st.integers(20, 200),
    )
    def attend(self, v: int, a: int, arrive: int, stay: int) -> None:
        """Check-in and check-out in one go: the common path, so runs reach review and certificates."""
        if (v, a) not in self.checkins:
            self.check_in(v, a, arrive)
        if (v, a) not in self.checkouts:
            self.check_out(v, a, stay)

    @precondition(lambda self: self.checkouts)
    @rule(index=st.integers(0, 100), later=st.integers(0, 600))
    def retry_check_out(self, index: int, later: int) -> None:
        self._count("retry_check_out")
        (v, a), (client_id, at, pk) = sorted(self.checkouts.items())[index % len(self.checkouts)]
        result = self._attend("out", v, a, client_id, at + timedelta(minutes=later))
        assert not result.created and result.check_in.pk == pk
        STATS.retries += 1

    @precondition(lambda self: self.checkouts)
    @rule(index=st.integers(0, 100))
    def replay_checkout_listener(self, index: int) -> None:
        """The listener delivered twice (a retried task), and the hourly sweep: no second record."""
        self._count("replay_checkout_listener")
        (v, a), (_, at, out_pk) = sorted(self.checkouts.items())[index % len(self.checkouts)]
        activity = self.activities[a]
        _, arrived, in_pk = self.checkins[(v, a)]
        registry.announce_checkout(
            registry.AttendedSpan(
                activity_id=activity.pk,
                community_id=activity.community_id,
                user_id=self.volunteers[v].user_id,
                title=activity.title,
                place=activity.place,
                started_at=arrived,
                ended_at=at,
                check_in_id=in_pk,
                check_out_id=out_pk,
            )
        )
        assert services.sweep_missed_checkouts(since=self.days[0] - timedelta(days=1)) == 0
        STATS.retries += 1

    # Records filed by hand ---------------------------------------------------------------------

    @rule(
        v=st.integers(0, VOLUNTEERS - 1),
        day=st.integers(0, DAYS - 1),
        half_hours_in=st.integers(14, 36),
        half_hours=st.integers(1, 12),
    )
    def file_record(self, v: int, day: int, half_hours_in: int, half_hours: int) -> None:
        self._count("file_record")
        start = self.days[day] + timedelta(minutes=30 * half_hours_in)
        end = start + timedelta(minutes=30 * half_hours)
        client_id = uuid.uuid4()

        def call():
            return services.file_record(
                by=self.volunteers[v].user,
                community=self.community,
                content="社区环境整治",
                started_at=start,
                ended_at=end,
                client_id=client_id,
            )

        if self._overlaps(v, start, end):
            self._expect_refusal("overlapping_record", call)
            return
        record, created = call()
        assert created
        self.records[record.pk] = Record(
            pk=record.pk, volunteer=v, source="manual", start=start, end=end, client_id=client_id
        )

    @precondition(lambda self: any(r.source == "manual" for r in self.records.values()))
    @rule(index=st.integers(0, 100))
    def retry_file_record(self, index: int) -> None:
        self._count("retry_file_record")
        manual = [r for r in self.records.values() if r.source == "manual"]
        mine = self._pick(manual, index)
        record, created = services.file_record(
            by=self.volunteers[mine.volunteer].user,
            community=self.community,
            content="社区环境整治",
            started_at=mine.start,
            ended_at=mine.end,
            client_id=mine.client_id,
        )
        assert not created and record.pk == mine.pk
        STATS.retries += 1

    # Review ------------------------------------------------------------------------------------

    @precondition(lambda self: self.records)
    @rule(index=st.integers(0, 100), any_status=st.booleans())
    def approve(self, index: int, any_status: bool) -> None:
        self._count("approve")
        mine = self._pick_record(index, None if any_status else "pending")

        def call():
            return services.approve_record(record=self._db_record(mine), by=self.staff, confirm_flags=True)

        if mine.status != "pending":
            self._expect_refusal("invalid_transition", call)
            return
        assert call().status == "approved"
        mine.status = "approved"

    @precondition(lambda self: self.records)
    @rule(index=st.integers(0, 100), any_status=st.booleans())
    def reject(self, index: int, any_status: bool) -> None:
        self._count("reject")
        mine = self._pick_record(index, None if any_status else "pending")

        def call():
            return services.reject_record(record=self._db_record(mine), by=self.staff, reason="时间不符")

        if mine.status != "pending":
            self._expect_refusal("invalid_transition", call)
            return
        assert call().status == "rejected"
        mine.status = "rejected"

    @precondition(lambda self: self.records)
    @rule(
        index=st.integers(0, 100),
        any_status=st.booleans(),
        day=st.integers(0, DAYS - 1),
        half_hours_in=st.integers(14, 36),
        half_hours=st.integers(1, 12),
    )
    def correct(self, index: int, any_status: bool, day: int, half_hours_in: int, half_hours: int) -> None:
        self._count("correct")
        # Mostly approved records: their corrections change totals and must leave certificates alone.
        mine = self._pick_record(index, None if any_status else "approved")
        start = self.days[day] + timedelta(minutes=30 * half_hours_in)
        end = start + timedelta(minutes=30 * half_hours)

        def call():
            return services.correct_record(
                record=self._db_record(mine), by=self.staff, started_at=start, ended_at=end, reason="核实后更正"
            )

        if mine.status == "rejected":
            self._expect_refusal("invalid_transition", call)
        elif (start, end) == (mine.start, mine.end):
            self._expect_refusal("validation_error", call)
        elif self._overlaps(mine.volunteer, start, end, exclude=mine.pk):
            self._expect_refusal("overlapping_record", call)
        else:
            correction = call()
            assert (correction.previous_started_at, correction.previous_ended_at) == (mine.start, mine.end)
            assert correction.hours == hours_of(start, end)
            mine.start, mine.end = start, end
            STATS.corrections += 1

    # Certificates ------------------------------------------------------------------------------

    def _periods(self) -> list[tuple[date, date]]:
        first = self.days[0].date()
        return [
            (first - timedelta(days=1), self.today),
            (first, first + timedelta(days=2)),
            (first + timedelta(days=3), self.today),
        ]

    def _approved_hours(self, v: int, period: tuple[date, date]) -> tuple[Decimal, int]:
        rows = [
            r
            for r in self.records.values()
            if r.volunteer == v
            and r.status == "approved"
            and period[0] <= timezone.localtime(r.start).date() <= period[1]
        ]
        return sum((r.hours for r in rows), Decimal("0.00")), len(rows)

    @precondition(lambda self: any(r.status == "approved" for r in self.records.values()))
    @rule(v=st.integers(0, VOLUNTEERS - 1), which=st.integers(0, 2))
    def issue_certificate(self, v: int, which: int) -> None:
        self._count("issue_certificate")
        period = self._periods()[which]
        client_id = uuid.uuid4()

        def call():
            return services.issue_certificate(
                volunteer=self.volunteers[v],
                community=self.community,
                by=self.staff,
                period_start=period[0],
                period_end=period[1],
                client_id=client_id,
                today=self.today,
            )

        hours, count = self._approved_hours(v, period)
        if any(c.volunteer == v and c.period == period and not c.revoked for c in self.certificates):
            self._expect_refusal("conflict", call)
        elif count == 0:
            self._expect_refusal("validation_error", call)
        else:
            certificate, created = call()
            assert created and certificate.hours == hours and certificate.record_count == count
            self.certificates.append(Issued(certificate.pk, v, period, hours, client_id))
            STATS.certificates += 1

    @precondition(lambda self: self.certificates)
    @rule(index=st.integers(0, 100))
    def retry_issue_certificate(self, index: int) -> None:
        """A retry answers with the certificate first issued, whatever has changed since."""
        self._count("retry_issue_certificate")
        issued = self._pick(self.certificates, index)
        certificate, created = services.issue_certificate(
            volunteer=self.volunteers[issued.volunteer],
            community=self.community,
            by=self.staff,
            period_start=issued.period[0],
            period_end=issued.period[1],
            client_id=issued.client_id,
            today=self.today,
        )
        assert not created and certificate.pk == issued.pk and certificate.hours == issued.hours
        STATS.retries += 1

    @precondition(lambda self: self.certificates)
    @rule(index=st.integers(0, 100))
    def revoke_certificate(self, index: int) -> None:
        self._count("revoke_certificate")
        issued = self._pick(self.certificates, index)

        def call():
            return services.revoke_certificate(
                certificate=Certificate.objects.get(pk=issued.pk), by=self.staff, reason="重新出具"
            )

        if issued.revoked:
            self._expect_refusal("invalid_transition", call)
            return
        assert call().revoked_at is not None
        issued.revoked = True

    @precondition(lambda self: any(not c.revoked for c in self.certificates))
    @rule(index=st.integers(0, 100), minutes=st.sampled_from([-60, -30, 30]))
    def correct_after_certificate(self, index: int, minutes: int) -> None:
        """A record a standing certificate counted is corrected: the total moves, the certificate does not."""
        self._count("correct_after_certificate")
        issued = self._pick([c for c in self.certificates if not c.revoked], index)
        counted = Certificate.objects.get(pk=issued.pk).records_snapshot
        mine = self.records[counted[index % len(counted)]["id"]]
        end = mine.end + timedelta(minutes=minutes)
        if end <= mine.start or self._overlaps(mine.volunteer, mine.start, end, exclude=mine.pk):
            return
        services.correct_record(
            record=self._db_record(mine), by=self.staff, started_at=mine.start, ended_at=end, reason="核实后更正"
        )
        mine.end = end
        STATS.corrections += 1

    # Invariants --------------------------------------------------------------------------------

    @invariant()
    def totals_equal_the_ledger(self) -> None:
        if not hasattr(self, "volunteers"):
            return
        latest: dict[int, RecordCorrection] = {}
        for correction in RecordCorrection.objects.filter(record__volunteer__in=self.volunteers).order_by("id"):
            latest[correction.record_id] = correction
        for v, volunteer in enumerate(self.volunteers):
            expected = sum(
                (r.hours for r in self.records.values() if r.volunteer == v and r.status == "approved"),
                Decimal("0.00"),
            )
            from_ledger = Decimal("0.00")
            for row in ServiceRecord.objects.filter(volunteer=volunteer, status="approved"):
                correction = latest.get(row.pk)
                from_ledger += (
                    correction.hours
                    if correction is not None
                    else hours_of(row.reported_started_at, row.reported_ended_at)
                )
            total = selectors.total_hours(volunteer.pk)
            assert total == expected == from_ledger, (volunteer.pk, total, expected, from_ledger)
        assert list(selectors.effective_value_mismatches()) == []

    @invariant()
    def certificates_keep_their_hours(self) -> None:
        for issued in self.certificates:
            certificate = Certificate.objects.get(pk=issued.pk)
            assert certificate.hours == issued.hours
            assert sum((Decimal(row["hours"]) for row in certificate.records_snapshot), Decimal("0.00")) == issued.hours
            assert certificate.is_revoked == issued.revoked

    @invariant()
    def nothing_counted_twice(self) -> None:
        if not hasattr(self, "volunteers"):
            return
        records = ServiceRecord.objects.filter(volunteer__in=self.volunteers)
        assert sorted(records.values_list("pk", flat=True)) == sorted(self.records)
        assert (
            not records.filter(source="checkout")
            .values("volunteer", "activity")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert (
            not records.exclude(client_id=None).values("volunteer", "client_id").annotate(n=Count("id")).filter(n__gt=1)
        )
        check_ins = CheckIn.objects.filter(activity__in=self.activities)
        assert check_ins.filter(kind="in").count() == len(self.checkins)
        assert check_ins.filter(kind="out").count() == len(self.checkouts)
        stored = {row.pk: row for row in records}
        for record in self.records.values():
            row = stored[record.pk]
            assert (row.status, row.started_at, row.ended_at, row.hours) == (
                record.status,
                record.start,
                record.end,
                record.hours,
            )


def run_ledger_machine(*, max_examples: int, steps: int) -> Stats:
    """Run the machine (inside a test holding the database) and answer what it did."""
    before = Stats(**{**STATS.__dict__, "by_rule": dict(STATS.by_rule)})
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=max_examples, stateful_step_count=steps, deadline=None, database=None),
    )
    return Stats(
        runs=STATS.runs - before.runs,
        steps=STATS.steps - before.steps,
        refusals=STATS.refusals - before.refusals,
        retries=STATS.retries - before.retries,
        corrections=STATS.corrections - before.corrections,
        certificates=STATS.certificates - before.certificates,
        by_rule={name: count - before.by_rule.get(name, 0) for name, count in STATS.by_rule.items()},
    )
