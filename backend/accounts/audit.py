"""The audit trail of staff reading other people's personal details (PIPL: who looked at whom, when).

Apps call `record_access` (one read) or `record_accesses` (a page of a list, one INSERT) from
the view that shows the data; a person reading their own details is not recorded, except the
copy of everything held about them (`record_own_export`): who took a full copy, and when, is
worth knowing when an account is later said to be compromised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import PersonalDataAccess, User
from .scoping import get_scope

PATH_MAX = PersonalDataAccess._meta.get_field("path").max_length


def _pk(user: Any) -> int | None:
    pk = getattr(user, "pk", user)
    return int(pk) if pk is not None else None


def record_access(
    *, actor: User, subject: User | int, what: str, object_id: int | None = None, path: str = ""
) -> PersonalDataAccess | None:
    subject_id = _pk(subject)
    if subject_id is None or subject_id == actor.pk:
        return None
    return PersonalDataAccess.objects.create(
        actor=actor, subject_id=subject_id, what=what, object_id=object_id, path=path[:PATH_MAX]
    )


def record_accesses(
    *, actor: User, reads: Iterable[tuple[User | int, int | None]], what: str, path: str = ""
) -> list[PersonalDataAccess]:
    """Record several reads at once: `reads` yields (subject, object_id) pairs, e.g. a list page."""
    rows = []
    for subject, object_id in reads:
        subject_id = _pk(subject)
        if subject_id is None or subject_id == actor.pk:
            continue
        rows.append(
            PersonalDataAccess(actor=actor, subject_id=subject_id, what=what, object_id=object_id, path=path[:PATH_MAX])
        )
    return PersonalDataAccess.objects.bulk_create(rows) if rows else []


def record_staff_accesses(
    *, actor: User, reads: Iterable[tuple[User | int, int | None]], what: str, path: str = ""
) -> list[PersonalDataAccess]:
    """`record_accesses` for a caller holding a role (staff, grid worker, liaison); nothing for anyone
    else. Whoever holds no role reaches only their own rows through the scoped querysets, and
    reading one's own is not recorded."""
    if not get_scope(actor).has_any_role:
        return []
    return record_accesses(actor=actor, reads=reads, what=what, path=path)


def record_own_export(*, user: User, path: str = "") -> PersonalDataAccess:
    """The person took the export of their own data (actor and subject are the same account)."""
    return PersonalDataAccess.objects.create(
        actor=user, subject=user, what="personal_data_export", object_id=user.pk, path=path[:PATH_MAX]
    )
