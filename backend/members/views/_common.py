"""What the members views share: the audit of staff reading other people's details."""

from __future__ import annotations

from backend.accounts.audit import record_access, record_accesses
from backend.accounts.scoping import get_scope


def _audit_page(request, rows, *, what: str, subject=lambda row: row.member.user_id) -> None:
    """Staff reading a page of other people's details: one audit row each, in one INSERT."""
    if get_scope(request.user).has_any_role:
        record_accesses(
            actor=request.user, reads=[(subject(row), row.pk) for row in rows], what=what, path=request.get_full_path()
        )


def _audit_one(request, row, *, what: str, subject_id: int) -> None:
    if get_scope(request.user).has_any_role:
        record_access(actor=request.user, subject=subject_id, what=what, object_id=row.pk, path=request.get_full_path())
