"""Attendance points for party members, awarded by a background task after a check-in and swept
when the activity finishes."""

from __future__ import annotations

import logging

from django.utils import timezone

from backend.accounts.models import User
from backend.members import services as member_services

from ..models import Activity, CheckIn

logger = logging.getLogger(__name__)


def award_attendance_points(*, activity_id: int, user_id: int) -> bool:
    """The activity's points for a party member who attended, once (the ledger refuses a second).

    The members ledger applies the category's rule: its value in the community's street and its
    yearly cap. Non-members and categories without a rule get nothing.
    """
    activity = Activity.objects.select_related("community").filter(pk=activity_id).first()
    if activity is None or activity.points <= 0:
        return False
    if not CheckIn.objects.filter(activity=activity, user_id=user_id, kind=CheckIn.Kind.IN).exists():
        return False
    user = User.objects.get(pk=user_id)
    entry = member_services.award_points(
        user=user,
        rule_code=activity.category,
        source=f"activity:{activity.pk}",
        year=timezone.localtime(activity.starts_at).year,
        community=activity.community,
    )
    return entry is not None


def _sweep_points(activity: Activity) -> None:
    if activity.points <= 0:
        return
    for user_id in CheckIn.objects.filter(activity=activity, kind=CheckIn.Kind.IN).values_list("user_id", flat=True):
        try:
            award_attendance_points(activity_id=activity.pk, user_id=user_id)
        except Exception:
            logger.exception("points for activity %s user %s failed", activity.pk, user_id)
