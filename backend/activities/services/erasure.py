"""Personal data (accounts.registry): what an account's deletion erases here."""

from __future__ import annotations

from datetime import datetime

from backend.accounts.models import User

from ..models import Enrollment, LeaveRequest
from ._shared import Status
from .enrollment import withdraw


def erase_personal_data(user: User, *, now: datetime) -> None:
    """Account deletion: places held in activities not yet started go to the next in line, and the
    reasons given for leave (often about health or family) are erased. Attendance stays as recorded."""
    upcoming = Enrollment.objects.filter(
        user=user,
        status__in=Enrollment.ACTIVE_STATUSES,
        activity__status=Status.PUBLISHED,
        activity__starts_at__gt=now,
    ).select_related("activity")
    for enrollment in upcoming:
        withdraw(activity=enrollment.activity, user=user, now=now)
    LeaveRequest.objects.filter(user=user).exclude(reason="").update(reason="")
