"""Staff recording a volunteer's document (证件) from the paper registration form the volunteer signed.

A certificate prints the volunteer's document number, and many volunteers register on paper at the
community, not in the mini-program: the secretary types the number in for them. The rules are the
API's own (`services.update_volunteer`: the number validated for its type, a resident ID with its
check digit, encrypted at rest, unique, stored only with the volunteer's consent to the current
privacy notice), and the staff member's hand is recorded in the personal-data audit trail.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.audit import record_access
from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.core.errors import DomainError

from .models import Volunteer
from .services.registration import apply_volunteer_changes

AUDIT_WHAT = "volunteer_id_number"


@transaction.atomic
def record_id_number(
    *,
    volunteer: Volunteer,
    by: User,
    id_type: str | None,
    id_number: str,
    consent: bool,
    consent_version: str | None = None,
) -> Volunteer:
    """Record (or correct) the volunteer's document on their behalf.

    `consent` is the volunteer's signature on the paper form, which carries the privacy notice of
    `consent_version`: the staff member attests to it, and it is stored with the number as a
    consent the volunteer gave in the app would be. Staff of the volunteer's community (or its
    street) only; whoever may not act hears so before anything about the number.
    """
    locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    if not can_act_on_community(by, locked.community_id):
        raise DomainError("permission_denied", _("需要组织社区工作人员权限"))
    updated = apply_volunteer_changes(
        volunteer=locked,
        id_type=id_type,
        id_number=id_number,
        consent=consent,
        consent_version=consent_version,
    )
    record_access(actor=by, subject=updated.user_id, what=AUDIT_WHAT, object_id=updated.pk)
    return updated
