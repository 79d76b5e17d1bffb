"""The console's own writes: the record of an import run (see models.ImportRun)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypedDict

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community, Street
from backend.core.errors import DomainError
from backend.red_property import selectors as property_selectors

from .models import ImportRun

# A run of 2000 rows each wrong in every column stays a row of reasonable size.
MAX_STORED_ERRORS = 500
SEPARATOR = ": "


class RunError(TypedDict):
    row: int | None
    column: str
    message: str


def import_errors(lines: Iterable[tuple[int | None, Sequence[str]]], *, columns: Iterable[str]) -> list[RunError]:
    """Each row's messages as (row, column, message): the column where a message names one of the
    sheet's headers ("手机号: 请输入有效的中国大陆手机号"), else empty (a message about the row)."""
    known = set(columns)
    errors: list[RunError] = []
    for row, messages in lines:
        for text in messages:
            head, separator, rest = str(text).partition(SEPARATOR)
            if separator and head in known:
                errors.append({"row": row, "column": head, "message": rest})
            else:
                errors.append({"row": row, "column": "", "message": str(text)})
    return errors


def _may_import_into(by: User, *, community: Community | None, street: Street) -> bool:
    if community is not None:
        return community.street_id == street.pk and can_act_on_community(by, community.pk)
    reachable = property_selectors.reachable_street_ids(by)
    return reachable is None or street.pk in reachable


@transaction.atomic
def record_import_run(
    *,
    by: User,
    kind: str,
    place: Community | Street,
    file_name: str,
    rows: int,
    rows_applied: int,
    error_rows: int,
    errors: list[RunError],
    saved: bool,
) -> ImportRun:
    """Record one upload (`saved` False: the preview) or one confirmation of an import, by staff who
    may import into `place` (a community, or a street for the street's registers)."""
    community = place if isinstance(place, Community) else None
    street = place.street if isinstance(place, Community) else place
    if not get_scope(by).is_staff or not _may_import_into(by, community=community, street=street):
        raise DomainError("permission_denied", _("需要组织社区工作人员权限"))
    return ImportRun.objects.create(
        kind=kind,
        community=community,
        street=street,
        by=by,
        file_name=file_name[: ImportRun._meta.get_field("file_name").max_length or 255],
        saved=saved,
        rows=rows,
        rows_applied=rows_applied,
        error_rows=error_rows,
        error_count=len(errors),
        errors=errors[:MAX_STORED_ERRORS],
    )
