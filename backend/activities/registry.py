"""What apps above activities tell it, and what it tells them, without activities importing them.

- `checkout_listeners`: called after a check-out of a `counts_as_service` activity commits, with
  the span the person attended (`AttendedSpan`). The volunteers app registers here to turn it
  into a pending service record. A failing listener is logged; the check-out stands.
- `audience_members` / `audience_user_ids`: who belongs to an audience that only a higher app
  knows, keyed by the audience (`"volunteers"`): `audience_members[kind](user, activity) -> bool`
  decides enrolment and check-in, `audience_user_ids[kind](activity) -> iterable of user ids`
  receives the announcements. With nobody registered, such an audience holds only the staff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from backend.core.registry import Registry

if TYPE_CHECKING:
    from .models import Activity

logger = logging.getLogger(__name__)


class CheckoutListener(Protocol):
    def __call__(self, *, span: AttendedSpan) -> None: ...


checkout_listeners: Registry[CheckoutListener] = Registry("activity checkout")
audience_members: Registry[Callable[[Any, Activity], bool]] = Registry("activity audience members")
audience_user_ids: Registry[Callable[[Activity], Iterable[int]]] = Registry("activity audience user ids")


@dataclass(frozen=True)
class AttendedSpan:
    activity_id: int
    community_id: int
    user_id: int
    title: str
    place: str
    started_at: datetime  # the check-in
    ended_at: datetime  # the check-out
    check_in_id: int
    check_out_id: int


def announce_checkout(span: AttendedSpan) -> None:
    for name, listener in checkout_listeners.items():
        try:
            listener(span=span)
        except Exception:
            logger.exception(
                "checkout listener %s failed for activity %s user %s", name, span.activity_id, span.user_id
            )
