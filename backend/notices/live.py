"""The fast path: hand committed notices and events to the sockets through the channel layer.

Every user's sockets join `user.<id>`; staff watching an activity's attendance join
`activity.<id>.attendance`. Sending never fails the write that caused it: on any channel-layer
trouble we log and carry on, and clients catch up by replaying from the database.
"""

from __future__ import annotations

import asyncio
import logging
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


async def _send_all(layer: Any, groups: list[str], message: dict[str, Any]) -> int:
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


def publish_event(user_ids: Iterable[int], event: str, data: dict[str, Any]) -> int:
    return send_to_users(user_ids, {"type": "event.message", "event": event, "data": data})
