"""The fast path: hand committed notices and events to the sockets through the channel layer.

Every user's sockets join `user.<id>`; staff watching an activity's attendance join
`activity.<id>.attendance`. Sending never fails the write that caused it: on any channel-layer
trouble we log and carry on, and clients catch up by replaying from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{int(user_id)}"


def attendance_group(activity_id: int) -> str:
    return f"activity.{int(activity_id)}.attendance"


def _timeout() -> float:
    # The sends run after commit but still inside the request: bound how long they may hold it.
    return float(getattr(settings, "NOTICES_LIVE_SEND_TIMEOUT", 3.0))


def _concurrency() -> int:
    # Below the Redis pool size, so a large audience never exhausts the layer's connections.
    return int(getattr(settings, "NOTICES_LIVE_SEND_CONCURRENCY", 100))


# channels_redis's group_send, for the many groups of one notice at once (see _redis_send_to_groups).
# The same script as its group_send: each process's queue is capped at the layer's capacity.
_REDIS_ENQUEUE = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""
# Members of many groups in one call, joined by spaces (never in a channel name): parsing one reply
# instead of one per member is most of what reading 5,000 groups costs the sender.
_REDIS_MEMBERS = """
    local members = {}
    for i=1,#KEYS do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
        for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
            members[#members + 1] = member
        end
    end
    return table.concat(members, ' ')
"""
# Groups read per call: a bounded time inside Redis, which runs one script at a time.
_GROUPS_PER_READ = 1000


def _redis_layer(layer: Any) -> bool:
    """Whether the layer is channels_redis's own, whose storage _redis_send_to_groups writes."""
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:
        return False
    # Exactly that class: a subclass may store or route differently.
    return type(layer) is RedisChannelLayer and hasattr(layer, "_map_channel_keys_to_connection")


async def _redis_send_to_groups(layer: Any, groups: list[str], message: dict[str, Any]) -> int:
    """One message per daphne process for all the groups together, instead of one per group.

    group_send costs four Redis round trips per group in the sender, and puts one message per
    group in each process's queue, which that process pops one by one (four more round trips
    each) before the consumer runs. For 5,000 recipients that was 2.3 s of the sender's CPU alone,
    past the send timeout, on two cores. Here the groups' members are read with one script call
    per thousand groups, and each process gets one message naming every member channel it holds,
    which channels_redis's receive hands to each of those channels: the consumers see what
    group_send would have given them.
    """
    now = time.time()
    by_connection: dict[int, list[str]] = {}
    for group in groups:
        by_connection.setdefault(layer.consistent_hash(group), []).append(group)
    channels: dict[str, None] = {}  # ordered and without repeats: a socket gets the message once
    for index, names in by_connection.items():
        connection = layer.connection(index)
        for start in range(0, len(names), _GROUPS_PER_READ):
            keys = [layer._group_key(group) for group in names[start : start + _GROUPS_PER_READ]]
            # Members older than the group expiry are dropped first, as group_send does.
            members = await connection.eval(_REDIS_MEMBERS, len(keys), *keys, int(now) - layer.group_expiry)
            channels.update(dict.fromkeys(members.decode("utf8").split()))
    if not channels:
        return len(groups)
    keys_by_connection, message_by_key, capacity_by_key = layer._map_channel_keys_to_connection(list(channels), message)
    for index, keys in keys_by_connection.items():
        connection = layer.connection(index)
        pipe = connection.pipeline(transaction=False)
        for key in keys:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - int(layer.expiry))
        await pipe.execute()
        args = [message_by_key[key] for key in keys] + [capacity_by_key[key] for key in keys]
        over_capacity = await connection.eval(_REDIS_ENQUEUE, len(keys), *keys, *args, time.time(), layer.expiry)
        if over_capacity:
            logger.warning(
                "channel layer: %d of %d process queues full, %s not sent live to their sockets",
                over_capacity,
                len(keys),
                message.get("type"),
            )
    return len(groups)


async def _send_all(layer: Any, groups: list[str], message: dict[str, Any]) -> int:
    if _redis_layer(layer):
        return await asyncio.wait_for(_redis_send_to_groups(layer, groups, message), _timeout())
    gate = asyncio.Semaphore(_concurrency())

    async def one(group: str) -> None:
        async with gate:
            await layer.group_send(group, message)

    results = await asyncio.wait_for(asyncio.gather(*(one(g) for g in groups), return_exceptions=True), _timeout())
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        logger.warning(
            "channel layer: %d of %d group sends of %s failed (first: %r)",
            len(failed),
            len(groups),
            message.get("type"),
            failed[0],
        )
    return len(groups) - len(failed)


def send_to_groups(groups: Iterable[str], message: dict[str, Any]) -> int:
    """Send one message to each group, concurrently and within a time bound; returns how many went."""
    targets = sorted(set(groups))
    if not targets:
        return 0
    try:
        layer = get_channel_layer()
        if layer is None:
            logger.warning("no channel layer configured: %s not sent live", message.get("type"))
            return 0
        return async_to_sync(_send_all)(layer, targets, message)
    except TimeoutError:
        logger.warning("channel layer: sending %s to %d groups timed out", message.get("type"), len(targets))
    except Exception:
        logger.exception("channel layer unavailable: %s not sent live to %d groups", message.get("type"), len(targets))
    return 0


def send_to_users(user_ids: Iterable[int], message: dict[str, Any]) -> int:
    return send_to_groups((user_group(user_id) for user_id in user_ids), message)


def publish_notice(user_ids: Iterable[int], payload: dict[str, Any]) -> int:
    """One committed notice to every recipient's sockets (built once, sent per user group)."""
    return send_to_users(user_ids, {"type": "notice.message", "notice": payload})


def close_user_sockets(user_id: int) -> int:
    """Every socket of the user, on every process, closes with 4401 (NoticeConsumer.session_close)."""
    return send_to_users([user_id], {"type": "session.close"})


def publish_event(user_ids: Iterable[int], event: str, data: dict[str, Any]) -> int:
    return send_to_users(user_ids, {"type": "event.message", "event": event, "data": data})
