"""`emit()`: the one call every service uses to announce an event to people.

Events leave only after the surrounding transaction commits: a rolled-back write announces
nothing. Delivery goes to the sinks registered in `event_sinks` (the notices app registers the
realtime one); a failing sink is logged and never fails the write, because clients catch up by
replaying from the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from .registry import Registry

logger = logging.getLogger(__name__)

# Sinks take (event: str, data: dict, audience: Audience) and deliver; registered by higher apps.
event_sinks = Registry("event sinks")

AUDIENCE_KINDS = ("users", "street", "community", "grid", "activity")


@dataclass(frozen=True)
class Audience:
    """Who an event or notice is for: a list of users, or everyone attached to a place."""

    kind: str
    ids: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCE_KINDS:
            raise ValueError(f"unknown audience kind {self.kind!r}")

    @classmethod
    def user(cls, user: Any) -> Audience:
        return cls("users", (int(getattr(user, "pk", user)),))

    @classmethod
    def users(cls, users: Any) -> Audience:
        return cls("users", tuple(int(getattr(u, "pk", u)) for u in users))

    @classmethod
    def street(cls, street: Any) -> Audience:
        return cls("street", (int(getattr(street, "pk", street)),))

    @classmethod
    def community(cls, community: Any) -> Audience:
        return cls("community", (int(getattr(community, "pk", community)),))

    @classmethod
    def grid(cls, grid: Any) -> Audience:
        return cls("grid", (int(getattr(grid, "pk", grid)),))

    @classmethod
    def activity(cls, activity: Any) -> Audience:
        return cls("activity", (int(getattr(activity, "pk", activity)),))


def emit(*, event: str, data: dict[str, Any], audience: Audience, using: str = "default") -> None:
    """Announce `event` to `audience` once the current transaction commits (at once outside one)."""

    def deliver() -> None:
        dispatch(event=event, data=data, audience=audience)

    transaction.on_commit(deliver, using=using)


def dispatch(*, event: str, data: dict[str, Any], audience: Audience) -> None:
    sinks = list(event_sinks.items())
    if not sinks:
        logger.info("event %s for %s (no realtime sink registered)", event, audience)
        return
    for name, sink in sinks:
        try:
            sink(event=event, data=data, audience=audience)
        except Exception:
            logger.exception("event sink %s failed for %s", name, event)
