"""backend/core/idempotency.py: a retried write answers with the first row, races included."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from backend.appeals.models import Appeal
from backend.core import idempotency
from tests import factories
from tests.appeals.factories import AppealFactory

pytestmark = pytest.mark.django_db


def test_replay_finds_only_the_owners_row_with_that_client_id():
    first = AppealFactory()
    assert idempotency.replay(Appeal.objects, filed_by=first.filed_by, client_id=first.client_id) == first
    assert idempotency.replay(Appeal.objects, filed_by=factories.UserFactory(), client_id=first.client_id) is None
    assert idempotency.replay(Appeal.objects, filed_by=first.filed_by, client_id=uuid.uuid4()) is None
    assert idempotency.replay(Appeal.objects, filed_by=first.filed_by, client_id=None) is None


def test_insert_once_creates_the_row():
    resident = factories.UserFactory()
    client_id = uuid.uuid4()
    row, created = idempotency.insert_once(
        lambda: AppealFactory(resident=resident, client_id=client_id),
        Appeal.objects,
        filed_by=resident,
        client_id=client_id,
    )
    assert created and Appeal.objects.get() == row


def test_a_retry_that_lost_the_race_to_the_constraint_gets_the_first_row():
    # The retry passed replay() before the first call committed, then hit the unique constraint.
    first = AppealFactory()
    row, created = idempotency.insert_once(
        lambda: AppealFactory(resident=first.resident, client_id=first.client_id),
        Appeal.objects,
        filed_by=first.filed_by,
        client_id=first.client_id,
    )
    assert (row, created) == (first, False)
    assert Appeal.objects.count() == 1


def test_another_integrity_error_is_not_mistaken_for_a_retry():
    def broken() -> Appeal:
        raise IntegrityError("another constraint")

    with pytest.raises(IntegrityError, match="another constraint"):
        idempotency.insert_once(broken, Appeal.objects, filed_by=factories.UserFactory(), client_id=uuid.uuid4())
    # The savepoint rolled back: the test's transaction is still usable.
    assert not Appeal.objects.exists()


def test_a_write_keyed_by_what_it_is_replays_and_answers_a_lost_race_with_the_row():
    first = AppealFactory()
    key = {"filed_by": first.filed_by, "client_id": first.client_id}
    assert idempotency.replay_key(Appeal.objects, **key) == first
    assert idempotency.replay_key(Appeal.objects.exclude(pk=first.pk), **key) is None
    row, created = idempotency.insert_once_key(
        lambda: AppealFactory(resident=first.resident, client_id=first.client_id), Appeal.objects, **key
    )
    assert (row, created) == (first, False)
    assert Appeal.objects.count() == 1


def test_insert_once_key_lets_another_integrity_error_through():
    def broken() -> Appeal:
        raise IntegrityError("another constraint")

    with pytest.raises(IntegrityError, match="another constraint"):
        idempotency.insert_once_key(broken, Appeal.objects, filed_by=factories.UserFactory())


def test_a_single_statement_inside_a_transaction_still_takes_a_savepoint():
    # The test's own transaction: a refused insert must not break it.
    seen = []

    def create() -> Appeal:
        seen.append(len(connection.savepoint_ids))
        raise IntegrityError("another constraint")

    with transaction.atomic():
        depth = len(connection.savepoint_ids)
        with pytest.raises(IntegrityError):
            idempotency.insert_once(
                create, Appeal.objects, filed_by=factories.UserFactory(), client_id=uuid.uuid4(), single_statement=True
            )
    assert seen == [depth + 1]
    assert not Appeal.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_single_statement_outside_a_transaction_runs_on_its_own():
    resident = factories.UserFactory()
    client_id = uuid.uuid4()
    opened = []

    def create() -> Appeal:
        opened.append(connection.in_atomic_block)
        return AppealFactory(resident=resident, client_id=client_id)

    _row, created = idempotency.insert_once(
        create, Appeal.objects, filed_by=resident, client_id=client_id, single_statement=True
    )
    assert created and opened == [False]
    # Without it, the same call opens a transaction of its own.
    again = []
    with pytest.raises(IntegrityError):
        idempotency.insert_once(
            lambda: again.append(connection.in_atomic_block) or AppealFactory(resident=resident, client_id=client_id),
            Appeal.objects,
            filed_by=factories.UserFactory(),
            client_id=client_id,
        )
    assert again == [True]
