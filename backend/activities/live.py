"""`attendance.changed` for the staff watching an activity, at most about once a second.

At the door a few hundred phones check in within minutes. Watchers need the figures, not one
message per phone: counting the rows and sending through the channel layer for each check-in
would cost more than the check-in itself. So, after each committed change:

- if nothing was sent for the activity within the last interval, the counts are read and sent at
  once (the leading edge);
- otherwise one trailing send is scheduled for the end of the interval (a deferred background
  task), which reads the counts then and so carries every change made meanwhile.

The trailing send forgets its mark before it reads, so a change committed after its read
schedules a send of its own: no change is left unannounced. Counts are always read after the
commit, from the database, never carried along in memory.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django_tasks import task_backends

from backend.core.events import Audience, dispatch

from . import selectors

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1


def _recent_key(activity_id: int) -> str:
    return f"activities:attendance:{activity_id}:sent"


def _trailing_key(activity_id: int) -> str:
    return f"activities:attendance:{activity_id}:trailing"


def send_counts(activity_id: int) -> None:
    dispatch(
        event="attendance.changed",
        data=selectors.attendance_counts(activity_id),
        audience=Audience.activity(activity_id),
    )


def send_trailing(activity_id: int) -> None:
    """The deferred send: forget the mark first, then read, so later changes schedule their own."""
    cache.delete(_trailing_key(activity_id))
    cache.set(_recent_key(activity_id), 1, timeout=INTERVAL_SECONDS)
    send_counts(activity_id)


def attendance_changed(activity_id: int) -> None:
    """Call after the change has committed."""
    # During a burst a trailing send is nearly always due: one read, and this change rides on it.
    # Its mark is forgotten before it reads, so seeing the mark here means it has not read yet.
    if cache.get(_trailing_key(activity_id)):
        return
    if cache.add(_recent_key(activity_id), 1, timeout=INTERVAL_SECONDS):
        send_counts(activity_id)
        return
    # Kept longer than the interval, so a trailing send that waits for a busy worker is not doubled.
    if not cache.add(_trailing_key(activity_id), 1, timeout=INTERVAL_SECONDS * 30):
        return
    try:
        if schedule_trailing(activity_id):
            return
    except Exception:
        cache.delete(_trailing_key(activity_id))
        logger.exception("could not schedule the attendance counts of activity %s", activity_id)
        return
    # The immediate backend (tests) cannot wait: send now.
    send_trailing(activity_id)


def schedule_trailing(activity_id: int) -> bool:
    """Enqueue the trailing send for the end of the interval; False when the task backend cannot wait."""
    from .tasks import send_attendance_counts

    if not task_backends[send_attendance_counts.backend].supports_defer:
        return False
    run_after = timezone.now() + timedelta(seconds=INTERVAL_SECONDS)
    send_attendance_counts.using(run_after=run_after).enqueue(activity_id)
    return True
