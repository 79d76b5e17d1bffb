"""`emit()`: the one call every service uses to announce an event to people.

Events leave only after the surrounding transaction commits: a rolled-back write announces
nothing. Delivery goes to the sinks registered in `event_sinks` (the notices app registers the
realtime one); a failing sink is logged and never fails the write, because clients catch up by
replaying from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.db.models import QuerySet

from .registry import Registry

logger = logging.getLogger(__name__)


class EventSink(Protocol):
    def __call__(self, *, event: str, data: dict[str, Any], audience: Audience) -> None: ...


# Sinks deliver an event to its audience; registered by higher apps (none: events are only logged).
event_sinks: Registry[EventSink] = Registry("event sinks")

AUDIENCE_KINDS = ("users", "street", "community", "grid", "activity")

# Who belongs to a place, as far as a higher app knows: key f"{kind}:{app_label}" (several apps
# may add members to one kind), provider(ids: tuple[int, ...]) -> iterable of user ids.
audience_providers: Registry[Callable[[tuple[int, ...]], Iterable[int]]] = Registry("audience")

# May this user watch live updates of that object? key "activity": provider(user, activity_id) -> bool.
watch_permission: Registry[Callable[[Any, int], bool]] = Registry("watch")

# What of a kind a staff member may address a notice to, for pickers by name: key "activity":
# provider(user) -> QuerySet of the objects (their str() is the name shown).
audience_choices: Registry[Callable[[Any], QuerySet[Any]]] = Registry("audience choices")


def register_audience_provider(kind: str, app_label: str, provider: Callable[[tuple[int, ...]], Iterable[int]]):
    if kind not in AUDIENCE_KINDS:
        raise ValueError(f"unknown audience kind {kind!r}")
    return audience_providers.register(f"{kind}:{app_label}", provider)


def provided_user_ids(kind: str, ids: tuple[int, ...]) -> set[int]:
    """The union of what every provider registered for `kind` says about these places."""
    found: set[int] = set()
    prefix = f"{kind}:"
    for key, provider in audience_providers.items():
        if key.startswith(prefix):
            found.update(int(user_id) for user_id in provider(tuple(ids)))
    return found


def may_watch(user: Any, kind: str, object_id: int) -> bool:
    """Whether `user` may follow live updates of that object; False when no app answers for it."""
    provider = watch_permission.get(kind)
    return bool(provider is not None and provider(user, object_id))


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
