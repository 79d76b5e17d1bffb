"""Volunteers' writes: registration, service records and their review, corrections, certificates.

Every function runs in a transaction, locks the rows whose state it decides on, and raises a
DomainError with a code from API.md. Events leave with `emit()` after commit. Locks are taken in
one order (volunteer, then record) so that two writes for the same person never deadlock.

One module per part of the work; the names below are the package's public surface, so
`from backend.volunteers.services import approve_record` keeps working.
"""

from .certificates import issue_certificate, normalise_certificate_number, require_issuer, revoke_certificate
from .corrections import correct_record
from .records import (
    check_effective_hours,
    file_record,
    on_checkout,
    record_from_checkout,
    require_volunteer,
    sweep_missed_checkouts,
)
from .registration import erase_personal_data, privacy_notice_version, register_volunteer, update_volunteer
from .review import POINTS_RULE, approve_record, reject_record, require_reviewer

__all__ = [
    "POINTS_RULE",
    "approve_record",
    "check_effective_hours",
    "correct_record",
    "erase_personal_data",
    "file_record",
    "issue_certificate",
    "normalise_certificate_number",
    "on_checkout",
    "privacy_notice_version",
    "record_from_checkout",
    "register_volunteer",
    "reject_record",
    "require_issuer",
    "require_reviewer",
    "require_volunteer",
    "revoke_certificate",
    "sweep_missed_checkouts",
    "update_volunteer",
]
