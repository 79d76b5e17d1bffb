"""`client_id` idempotency: the one way a write a phone may retry answers its retry.

The mini-program sends a fresh `client_id` (a UUID) with every write it may send twice (a weak
signal, a tap repeated). The row keeps it under a unique constraint with its owner, and:

    existing = idempotency.replay(ServiceRecord.objects, volunteer=volunteer, client_id=client_id)
    if existing is not None:
        return existing, False          # the view answers 200 with the first row
    ...validate, then...
    return idempotency.insert_once(lambda: ServiceRecord.objects.create(...),
                                   ServiceRecord.objects, volunteer=volunteer, client_id=client_id)

`replay` looks only among the owner's own rows, so it never answers anyone with another's row;
it comes before validation: the first call's input was valid, and a retry whose rules have
since moved on (a closed window, a full activity) still gets the first answer.
`insert_once` makes the row in a savepoint; when a concurrent retry won the race to the unique
constraint, it answers with that row instead. Any other IntegrityError propagates.

A write whose retry is recognised by what it is rather than by a client_id (one active enrolment
per person and activity, one active leave request per person and meeting) does the same with
`replay_key(queryset, **key)` and `insert_once_key(create, queryset, **key)`: the queryset and key
name the rows the unique constraint allows once.

On the busiest path a caller may replay lazily: validate first and replay only when validation
refuses or the insert meets the constraint. The answers are the same (a retry whose rules have
moved on is refused, then answered from its row; one whose rules still hold meets the constraint,
then is answered from its row), and the first attempt reads nothing. With `single_statement=True`
(a `create` that is one INSERT and nothing else) the insert outside a transaction runs on its own,
without BEGIN and COMMIT: one statement is atomic by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)


def replay(queryset: models.QuerySet[M], *, client_id: UUID | None, **owner: Any) -> M | None:
    """The row this owner already made with this client_id, or None (always None without one)."""
    if client_id is None:
        return None
    return queryset.filter(client_id=client_id, **owner).first()


def insert_once(
    create: Callable[[], M],
    queryset: models.QuerySet[M],
    *,
    client_id: UUID | None,
    single_statement: bool = False,
    **owner: Any,
) -> tuple[M, bool]:
    """(row, True) from `create()`, or (the first row, False) when a concurrent retry made it."""
    return _insert(create, lambda: replay(queryset, client_id=client_id, **owner), single_statement=single_statement)


def replay_key(queryset: models.QuerySet[M], **key: Any) -> M | None:
    """The row already made under this unique key, or None."""
    return queryset.filter(**key).first()


def insert_once_key(create: Callable[[], M], queryset: models.QuerySet[M], **key: Any) -> tuple[M, bool]:
    """(row, True) from `create()`, or (the row, False) when a concurrent call made the one its key allows."""
    return _insert(create, lambda: replay_key(queryset, **key), single_statement=False)


def _insert(create: Callable[[], M], first: Callable[[], M | None], *, single_statement: bool) -> tuple[M, bool]:
    try:
        if single_statement and not transaction.get_connection().in_atomic_block:
            return create(), True
        # Inside a transaction the savepoint keeps a refused insert from breaking the caller's.
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = first()
        if existing is None:
            raise
        return existing, False
