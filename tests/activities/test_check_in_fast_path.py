"""The check-in's statements written once and its answer written directly, held to the ORM's and
the serializer's: the activity with the caller's facts, the INSERT, the response."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.activities import selectors
from backend.activities.models import Activity, CheckIn, Enrollment
from backend.activities.serializers import CheckInSerializer, PositionSerializer, check_in_payload
from backend.activities.services.checkin import _insert_statement
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(community):
    return ActivityFactory(community=community, capacity=10, points=3, brand=None)


def test_the_activity_reads_as_the_orm_reads_it(activity):
    caller = enrol(activity).user
    read, orm = selectors.activity_for_check_in(pk=activity.pk, user=caller), Activity.objects.get(pk=activity.pk)
    assert not read._state.adding and read._state.db == "default"
    for field in Activity._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
        assert type(getattr(read, field.attname)) is type(getattr(orm, field.attname)), field.name


@pytest.mark.parametrize(
    ("enrolment", "checked_in", "active", "expected"),
    [
        (None, False, True, (None, False, True)),
        (Enrollment.Status.ENROLLED, False, True, ("enrolled", False, True)),
        (Enrollment.Status.WAITLISTED, False, True, ("waitlisted", False, True)),
        (Enrollment.Status.WITHDRAWN, False, True, (None, False, True)),
        (Enrollment.Status.ENROLLED, True, True, ("enrolled", True, True)),
        (Enrollment.Status.ENROLLED, False, False, ("enrolled", False, False)),
    ],
)
def test_the_callers_facts_are_their_own(activity, enrolment, checked_in, active, expected):
    caller = factories.UserFactory(community=activity.community)
    other = enrol(activity).user
    _row(activity, other).save()
    if enrolment is not None:
        enrol(activity, caller, status=enrolment)
    if checked_in:
        _row(activity, caller).save()
    if not active:
        type(caller).objects.filter(pk=caller.pk).update(is_active=False)

    read = selectors.activity_for_check_in(pk=activity.pk, user=caller)

    assert (read.caller_enrollment, read.caller_checked_in, read.caller_active) == expected
    assert selectors.enrollment_status(read, caller) == expected[0]
    assert selectors.has_checked_in(read, caller) is expected[1]
    # Another user's facts are asked of the database, not taken from the caller's.
    assert selectors.has_checked_in(read, other) is True


def test_drafts_and_missing_activities_are_not_found(activity, community):
    caller = factories.UserFactory(community=community)
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    for pk in (draft.pk, activity.pk + 1000):
        with pytest.raises(Activity.DoesNotExist):
            selectors.activity_for_check_in(pk=pk, user=caller)


def _row(activity, user, **extra) -> CheckIn:
    fields = {
        "kind": CheckIn.Kind.IN,
        "at": timezone.now(),
        "client_id": uuid.uuid4(),
        "distance_m": 12,
        "inside": True,
    }
    return CheckIn(activity=activity, user=user, **{**fields, **extra})


def test_the_insert_stores_what_save_stores(activity):
    made = _insert_statement.save(_row(activity, enrol(activity).user, accuracy_m=30, inside=False))
    saved = _row(activity, enrol(activity).user, accuracy_m=30, inside=False)
    saved.save(force_insert=True)

    assert isinstance(made.pk, int) and not made._state.adding and made._state.db == "default"
    read, orm = CheckIn.objects.get(pk=made.pk), CheckIn.objects.get(pk=saved.pk)
    for field in CheckIn._meta.concrete_fields:
        if field.name not in {"id", "user", "client_id", "at"}:
            assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert (read.client_id, read.at, read.user_id) == (made.client_id, made.at, made.user_id)


def test_a_refused_insert_leaves_the_transaction_usable(activity):
    user = enrol(activity).user
    _insert_statement.save(_row(activity, user))
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic():
            _insert_statement.save(_row(activity, user))
        assert CheckIn.objects.filter(activity=activity, user=user).count() == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"accuracy_m": 25, "inside": True},
        {"accuracy_m": None, "inside": False, "kind": CheckIn.Kind.OUT},
        {"client_id": None, "distance_m": None, "inside": None, "manual": True, "reason": "忘带手机"},
    ],
)
def test_the_answer_is_the_serializers(activity, extra):
    if extra.get("manual"):
        extra = {**extra, "recorded_by": factories.staff_of(activity.community)}
    row = _insert_statement.save(_row(activity, enrol(activity).user, **extra))
    for read in (row, CheckIn.objects.get(pk=row.pk)):
        assert check_in_payload(read) == CheckInSerializer(read).data


def test_position_serializers_do_not_share_their_bound_fields():
    first = PositionSerializer(data={"client_id": str(uuid.uuid4()), "token": "a", "latitude": 1, "longitude": 2})
    second = PositionSerializer(data={"client_id": "not-a-uuid", "token": "b", "latitude": 91, "longitude": 2})
    assert first.is_valid() and not second.is_valid()
    assert set(second.errors) == {"client_id", "latitude"}
    for name, field in first.fields.items():
        assert field.parent is first and second.fields[name].parent is second
        assert field is not second.fields[name] and field is not PositionSerializer._declared_fields[name]
