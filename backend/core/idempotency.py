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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)
# A model's manager or any queryset of it: `Appeal.objects` as well as `Appeal.objects.filter(...)`.
Rows = models.QuerySet[M] | models.Manager[M]


def replay(queryset: Rows[M], *, client_id: UUID | None, **owner: Any) -> M | None:
    """The row this owner already made with this client_id, or None (always None without one)."""
    if client_id is None:
        return None
    return queryset.filter(client_id=client_id, **owner).first()


def insert_once(create: Callable[[], M], queryset: Rows[M], *, client_id: UUID | None, **owner: Any) -> tuple[M, bool]:
    """(row, True) from `create()`, or (the first row, False) when a concurrent retry made it."""
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = replay(queryset, client_id=client_id, **owner)
        if existing is None:
            raise
        return existing, False
