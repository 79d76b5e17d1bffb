"""Who has a notices socket open right now, shared by every process through the Django cache.

Each user has a counter of open sockets. The consumer calls `connected()` on accept,
`disconnected()` on close and `refresh()` on its heartbeat (a ping, or a timer shorter than the TTL).
A process that dies with sockets open never decrements: the counter then expires with its TTL,
so a stale "online" lasts at most `NOTICES_PRESENCE_TTL` seconds after the last refresh.

Presence only decides whether to fall back to a WeChat subscribe message; being wrong for a
minute costs one message at worst, never a lost notice (the database is the record).
"""

from __future__ import annotations

from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "notices:online:"


def ttl() -> int:
    return int(getattr(settings, "NOTICES_PRESENCE_TTL", 90))


def _key(user_id: int) -> str:
    return f"{KEY_PREFIX}{int(user_id)}"


def connected(user_id: int) -> int:
    """One more socket for this user; returns how many the user now has open."""
    key = _key(user_id)
    timeout = ttl()
    # add() is atomic (SET NX on Redis), so two sockets opening at once both count.
    cache.add(key, 0, timeout)
    try:
        count = cache.incr(key)
    except ValueError:
        # The key expired between add() and incr(): start again from this socket.
        cache.set(key, 1, timeout)
        count = 1
    cache.touch(key, timeout)
    return int(count)


def disconnected(user_id: int) -> int:
    """One socket fewer; returns how many remain (never below zero)."""
    key = _key(user_id)
    try:
        count = int(cache.decr(key))
    except ValueError:
        return 0
    if count < 0:
        # A socket counted before the key expired closed after it: clamp rather than go negative.
        cache.set(key, 0, ttl())
        return 0
    # Left at zero rather than deleted: a delete could race with a socket opening meanwhile.
    cache.touch(key, ttl())
    return count


def refresh(user_id: int) -> None:
    """Keep the user online for another TTL; call it more often than the TTL while the socket lives."""
    key = _key(user_id)
    if not cache.touch(key, ttl()):
        # The counter expired under a live socket (a long pause): count this socket again.
        cache.add(key, 1, ttl())


def is_online(user_id: int) -> bool:
    return int(cache.get(_key(user_id)) or 0) > 0


def online_user_ids(user_ids: Iterable[int]) -> set[int]:
    """Which of these users have a socket open, in one cache round trip per thousand users."""
    ids = [int(user_id) for user_id in user_ids]
    online: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        values = cache.get_many([_key(user_id) for user_id in chunk])
        online.update(user_id for user_id in chunk if int(values.get(_key(user_id)) or 0) > 0)
    return online


# For the consumer, which runs on the event loop: the cache backends here are synchronous.
aconnected = sync_to_async(connected)
adisconnected = sync_to_async(disconnected)
arefresh = sync_to_async(refresh)
ais_online = sync_to_async(is_online)
