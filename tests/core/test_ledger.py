"""Append-only ledgers (backend/core/ledger.py): the ORM refuses everywhere, the database on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Model, ProtectedError

from backend.accounts.models import PersonalDataAccess
from backend.activities.models import CheckIn
from backend.appeals.models import AppealStep
from backend.core.ledger import AppendOnlyError
from backend.members.models import DemandStep, PointsEntry, RegistrationStep
from backend.volunteers.models import RecordCorrection
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.appeals.factories import AppealStepFactory
from tests.members.factories import DemandFactory, RegistrationFactory
from tests.volunteers.factories import VolunteerFactory, record

# Per ledger: a column and a raw SQL expression that changes it (what an UPDATE would try).
RAW_CHANGES: dict[type[Model], tuple[str, str]] = {
    PointsEntry: ("points", "points + 1"),
    RecordCorrection: ("hours", "hours + 1"),
    AppealStep: ("content", "content || 'x'"),
    DemandStep: ("note", "note || 'x'"),
    PersonalDataAccess: ("what", "'changed'"),
    CheckIn: ("at", "at + interval '1 hour'"),
    RegistrationStep: ("reason", "reason || 'x'"),
}


def one_of_each() -> dict[type[Model], Model]:
    user, staff = factories.UserFactory(), factories.UserFactory()
    service = record(VolunteerFactory(), hours=2)
    corrected = service.started_at + timedelta(hours=3)
    return {
        PointsEntry: PointsEntry.objects.create(
            user=user, rule_code="party_day", source="test:1", points=2, requested_points=2, year=2026
        ),
        RecordCorrection: RecordCorrection.objects.create(
            record=service,
            previous_started_at=service.started_at,
            previous_ended_at=service.ended_at,
            previous_hours=service.hours,
            started_at=service.started_at,
            ended_at=corrected,
            hours=Decimal("3.00"),
            reason="签退漏记",
            corrected_by=staff,
        ),
        AppealStep: AppealStepFactory(),
        DemandStep: DemandFactory().steps.get(),
        PersonalDataAccess: PersonalDataAccess.objects.create(actor=staff, subject=user, what="party_member"),
        CheckIn: CheckIn.objects.create(
            activity=ActivityFactory(), user=user, kind="in", client_id=uuid.uuid4(), distance_m=5, inside=True
        ),
        RegistrationStep: RegistrationStep.objects.create(registration=RegistrationFactory(), to_status="pending"),
    }


@pytest.fixture
def ledgers(db) -> dict[type[Model], Model]:
    return one_of_each()


def test_the_orm_refuses_to_change_or_remove_ledger_rows(ledgers):
    for model, row in ledgers.items():
        column = RAW_CHANGES[model][0]
        with pytest.raises(AppendOnlyError, match="append-only"):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            model.objects.filter(pk=row.pk).update(**{column: getattr(row, column)})
        with pytest.raises(AppendOnlyError):
            model.objects.filter(pk=row.pk).delete()
        with pytest.raises(AppendOnlyError):
            model.objects.bulk_update([row], [column])
        assert model.objects.filter(pk=row.pk).exists(), model


def test_a_ledger_row_outlives_what_it_points_at(ledgers):
    """PROTECT, not CASCADE: deleting the appeal, the demand or the record behind a row is refused."""
    for model, parent in (
        (AppealStep, ledgers[AppealStep].appeal),
        (DemandStep, ledgers[DemandStep].demand),
        (RecordCorrection, ledgers[RecordCorrection].record),
        (CheckIn, ledgers[CheckIn].activity),
        (PointsEntry, ledgers[PointsEntry].user),
    ):
        with pytest.raises(ProtectedError), transaction.atomic():
            parent.delete()
        assert model.objects.filter(pk=ledgers[model].pk).exists()


def test_an_appeal_step_may_only_lose_the_user_it_names(db):
    """Appeals keep their history when an account goes: the step stays, its actor becomes null."""
    step = AppealStepFactory(content="楼道堆放杂物")
    resident = step.actor
    step.appeal.resident = step.appeal.filed_by = None
    step.appeal.save(update_fields=["resident", "filed_by"])
    resident.delete()

    step.refresh_from_db()
    assert step.actor is None
    assert step.content == "楼道堆放杂物"
    with pytest.raises(AppendOnlyError):
        AppealStep.objects.filter(pk=step.pk).update(actor=factories.UserFactory())
    with pytest.raises(AppendOnlyError):
        AppealStep.objects.filter(pk=step.pk).update(actor=None, content="改写")


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.services
def test_raw_sql_cannot_change_or_remove_ledger_rows(ledgers):
    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's; SQLite has the ORM guard only")
    for model, row in ledgers.items():
        table = connection.ops.quote_name(model._meta.db_table)
        column, expression = RAW_CHANGES[model]
        with pytest.raises(DatabaseError, match="pgtrigger: Cannot"):
            _raw(f"UPDATE {table} SET {connection.ops.quote_name(column)} = {expression} WHERE id = %s", [row.pk])
        with pytest.raises(DatabaseError, match="pgtrigger: Cannot"):
            _raw(f"DELETE FROM {table} WHERE id = %s", [row.pk])
        assert model.objects.filter(pk=row.pk).exists(), model
        assert model.objects.get(pk=row.pk).__dict__[column] == row.__dict__[column], model


@pytest.mark.services
def test_raw_sql_may_only_clear_the_user_an_appeal_step_names(ledgers):
    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's; SQLite has the ORM guard only")
    step = ledgers[AppealStep]
    other = factories.UserFactory()
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"):
        _raw("UPDATE appeals_appealstep SET actor_id = %s WHERE id = %s", [other.pk, step.pk])
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"):
        _raw("UPDATE appeals_appealstep SET actor_id = NULL, content = 'x' WHERE id = %s", [step.pk])
    _raw("UPDATE appeals_appealstep SET actor_id = NULL, assignee_id = NULL WHERE id = %s", [step.pk])
    step.refresh_from_db()
    assert step.actor_id is None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_the_ledgers():
    """Transactional tests end with TRUNCATE, which row triggers do not see: the rows go, the triggers stay."""
    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's")
    rows = one_of_each()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger_append_only%%' AND NOT tgisinternal"
        )
        assert cursor.fetchone()[0] == len(rows) + 2  # appeal steps have three (delete, update, clear-only)
