"""The notices WebSocket (`/ws/notices/`): live notices and events, replay after a reconnect.

The database is the record and the socket only a fast path: a client that reconnects sends
`resume` with the last id it saw and gets everything after it from the database, then live
notices, each id at most once per connection. The protocol is written out in docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from backend.accounts.selectors import active_account
from backend.core.errors import DomainError
from backend.core.events import watch_permission
from backend.notices import presence
from backend.notices.selectors import last_notice_id, notices_after

logger = logging.getLogger(__name__)

# Codes in the private range mirror HTTP statuses. The standard 1011 and 1013 cannot be used:
# daphne lets an application close with 1000 or 3000–4999 only, and on any other code the close
# itself raised, crashing the consumer (daphne then sent 1011 on its own, and skipped disconnect()).
# 4401: the client refreshes its access token and reconnects.
CLOSE_UNAUTHORIZED = 4401
# The server failed (4500) or cannot serve now (4503): reconnect with backoff and resume.
CLOSE_INTERNAL_ERROR = 4500
CLOSE_TRY_AGAIN_LATER = 4503

REPLAY_PAGE_SIZE = 200
MAX_MESSAGE_CHARS = 4096
MAX_WATCHES = 20
# Ids already sent on this connection, kept to drop a second copy of the same notice. Only the
# newest matter (a duplicate comes from the replay/live overlap), so the memory stays bounded.
SENT_IDS_KEPT = 2000
# Live notices held while a replay reads the database; past this they are dropped and the replay
# reads the database once more instead.
LIVE_BUFFER_MAX = 500


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def attendance_group(activity_id: int) -> str:
    return f"activity.{activity_id}.attendance"


# The largest id a row can have (a 64-bit signed column). A larger one cannot even be bound as a
# query parameter (SQLite raises OverflowError, PostgreSQL refuses it), so it is refused as input.
MAX_ID = 2**63 - 1


def _int_in_range(value: Any, *, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_ID:
        return None
    return value


def _positive_int(value: Any) -> int | None:
    return _int_in_range(value, minimum=1)


# watch_refusal()'s answer when the account was deactivated or deleted since the socket opened.
ACCOUNT_GONE = ("account_gone", "")


def watch_refusal(*, user_id: int, activity_id: int) -> tuple[str, str] | None:
    """Whether the account may watch the activity now: read afresh, never from the connect-time user.

    The user object in the socket's scope is as old as the socket, and so are the grants scoping
    caches on it: a secretary whose role was revoked (or whose account was deleted) an hour ago
    would still pass a check made against it.
    """
    user = active_account(user_id=user_id)
    if user is None:
        return ACCOUNT_GONE
    provider = watch_permission.get("activity")
    not_found = ("not_found", _("活动不存在"))
    if provider is None:
        return not_found
    try:
        allowed = provider(user, activity_id)
    except DomainError as exc:
        return exc.code, str(exc.detail)
    return None if allowed else not_found


def _presence_interval() -> float:
    # Several refreshes per TTL, so one late timer never lets a connected user look offline.
    return max(presence.ttl() / 3, 1)


class NoticeConsumer(AsyncJsonWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id: int | None = None
        self.closing = False
        self.joined: set[str] = set()
        self.watching: set[int] = set()
        self.sent_ids: set[int] = set()
        self.sent_order: deque[int] = deque()
        self.highest_sent = 0
        self.replay_lock = asyncio.Lock()
        self.replays_pending = 0
        self.live_buffer: list[dict[str, Any]] = []
        self.live_buffer_overflowed = False
        self.tasks: set[asyncio.Task] = set()
        self.released = False
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "ping": self.on_ping,
            "resume": self.on_resume,
            "watch": self.on_watch,
            "unwatch": self.on_unwatch,
        }

    # Connection lifecycle

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A consumer that fails (the channel layer's receive raised: Redis went away) gets no
            # websocket.disconnect: daphne closes the socket with 1011 itself. Without this its
            # heartbeat would run on, keeping the user "online" (no subscribe messages) for good.
            await self.release()

    async def connect(self) -> None:
        # Accept first, even without a token: a refused handshake reaches wx.connectSocket as a bare
        # error, while a close after accept carries the 4401 the client acts on.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or self.token_expired():
            await self.close_with(CLOSE_UNAUTHORIZED)
            return
        try:
            await self.join(user_group(user.pk))
        except Exception:
            # Without the channel layer (Redis down) the socket would be deaf; the client retries.
            logger.warning("channel layer unavailable, closing the socket of user %s", user.pk, exc_info=True)
            await self.close_with(CLOSE_TRY_AGAIN_LATER)
            return
        self.user_id = user.pk
        self.spawn(self.close_at_expiry(self.scope["token_exp"]))
        await self.presence_call(presence.aconnected)
        self.spawn(self.keep_presence())
        try:
            last_id = await database_sync_to_async(last_notice_id)(user_id=self.user_id)
        except Exception:
            # Closing (rather than crashing) lets disconnect() leave the groups and the presence count.
            logger.exception("could not read the last notice id of user %s", self.user_id)
            await self.close_with(CLOSE_INTERNAL_ERROR)
            return
        await self.send_json({"type": "hello", "user_id": self.user_id, "last_notice_id": last_id})

    async def disconnect(self, code: int) -> None:
        await self.release()

    async def release(self) -> None:
        """Stop the timers, leave the groups, count the socket closed: once, however the socket ended."""
        if self.released:
            return
        self.released = True
        for task in list(self.tasks):
            task.cancel()
        for group in list(self.joined):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                # The layer expires group membership on its own; a failed discard costs nothing lasting.
                logger.warning("could not leave group %s", group, exc_info=True)
        self.joined.clear()
        if self.user_id is not None:
            await self.presence_call(presence.adisconnected)

    async def close_with(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        await self.close(code=code)

    def token_expired(self) -> bool:
        token_exp = self.scope.get("token_exp")
        return token_exp is None or time.time() >= token_exp

    async def close_at_expiry(self, token_exp: float) -> None:
        await asyncio.sleep(max(0.0, token_exp - time.time()))
        await self.close_with(CLOSE_UNAUTHORIZED)

    async def keep_presence(self) -> None:
        while True:
            await asyncio.sleep(_presence_interval())
            await self.presence_call(presence.arefresh)

    async def presence_call(self, call: Callable[[int], Awaitable[Any]]) -> None:
        if self.user_id is None:  # presence is kept from the socket's welcome on, for its user
            return
        try:
            await call(self.user_id)
        except Exception:
            # Presence only picks between socket and subscribe message; it must not take the socket down.
            logger.warning("presence update failed for user %s", self.user_id, exc_info=True)

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.add(group)

    async def leave(self, group: str) -> None:
        self.joined.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # Client → server

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.closing or self.user_id is None:
            return
        if self.token_expired():
            await self.close_with(CLOSE_UNAUTHORIZED)
            return
        if text_data is None or len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_error("validation_error", _("消息须为不超过 4096 字符的 JSON 文本"))
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: arrays or objects nested a thousand deep fit well under the size cap.
            await self.send_error("validation_error", _("消息不是有效的 JSON"))
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str):
            await self.send_error("validation_error", _("消息须为带 type 字段的 JSON 对象"))
            return
        handler = self.handlers.get(kind)
        if handler is None:
            # Echoed back, so a lone surrogate (valid in JSON, not in UTF-8) must not reach the frame.
            request = kind[:32].encode("utf-8", "replace").decode("utf-8")
            await self.send_error("validation_error", _("未知的消息类型"), request=request)
            return
        try:
            await handler(content)
        except Exception:
            # Uncaught, daphne would close with 1011 and skip disconnect(); 4500 says the same to the
            # client (reconnect and resume) and leaves the groups and the presence count behind.
            logger.exception("socket message %s failed for user %s", kind, self.user_id)
            await self.close_with(CLOSE_INTERNAL_ERROR)

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})
        await self.presence_call(presence.arefresh)

    async def on_resume(self, content: dict[str, Any]) -> None:
        after_id = _int_in_range(content.get("after_id"), minimum=0)
        if after_id is None:
            await self.send_error("validation_error", _("after_id 须为非负整数"), request="resume")
            return
        # Counted before the task starts, so a live notice dispatched right after is already buffered.
        self.replays_pending += 1
        self.spawn(self.replay(after_id))

    async def on_watch(self, content: dict[str, Any]) -> None:
        activity_id = _positive_int(content.get("activity_id"))
        if activity_id is None:
            await self.send_error("validation_error", _("activity_id 须为正整数"), request="watch")
            return
        if activity_id not in self.watching:
            if len(self.watching) >= MAX_WATCHES:
                await self.send_error(
                    "validation_error", _("同时关注的活动过多"), request="watch", activity_id=activity_id
                )
                return
            refusal = await self.watch_refusal(activity_id)
            if refusal is ACCOUNT_GONE:
                await self.close_with(CLOSE_UNAUTHORIZED)
                return
            if refusal is not None:
                code, detail = refusal
                await self.send_error(code, detail, request="watch", activity_id=activity_id)
                return
            await self.join(attendance_group(activity_id))
            self.watching.add(activity_id)
        await self.send_json({"type": "watching", "activity_id": activity_id})

    async def on_unwatch(self, content: dict[str, Any]) -> None:
        activity_id = _positive_int(content.get("activity_id"))
        if activity_id is None:
            await self.send_error("validation_error", _("activity_id 须为正整数"), request="unwatch")
            return
        if activity_id in self.watching:
            self.watching.discard(activity_id)
            await self.leave(attendance_group(activity_id))
        await self.send_json({"type": "unwatched", "activity_id": activity_id})

    async def watch_refusal(self, activity_id: int) -> tuple[str, str] | None:
        """None when the user may watch; else (code, detail), or ACCOUNT_GONE. Out of scope reads as not found."""
        return await database_sync_to_async(watch_refusal)(user_id=self.user_id, activity_id=activity_id)

    # Replay

    async def replay(self, after_id: int) -> None:
        """Every notice after `after_id` from the database, then the live ones held meanwhile.

        Live notices arriving during the replay are buffered, not sent: they are sent after the
        database rows, unless the replay already sent them. Duplicates are dropped by the ids
        already sent rather than by "id ≤ highest sent": the latter would also drop a notice new
        to this client that committed after a higher id. The notices service commits ids in order,
        so that should not happen; if it ever does, it costs a late notice, not a lost one.
        """
        try:
            async with self.replay_lock:
                sent, last_read = await self.replay_from_database(after_id)
                while True:
                    if self.live_buffer_overflowed:
                        # Live notices dropped from a full buffer committed before they were sent, and
                        # ids commit in order: reading on from the last id read finds every one.
                        self.live_buffer_overflowed = False
                        more, last_read = await self.replay_from_database(last_read)
                        sent += more
                    elif self.replays_pending > 1 or not self.live_buffer:
                        # A later resume flushes the buffer; or there is nothing left to flush.
                        break
                    else:
                        held = sorted(self.live_buffer, key=lambda notice: notice["id"])
                        self.live_buffer = []
                        for notice in held:
                            await self.deliver(notice)
                # No await since the buffer was last seen empty: nothing can slip into it unsent.
                self.replays_pending -= 1
                await self.send_json({"type": "resumed", "count": sent, "last_notice_id": self.highest_sent})
        except Exception:
            # A half-done replay would leave a gap the client cannot see; make it reconnect and resume.
            logger.exception("replay failed for user %s", self.user_id)
            self.replays_pending = max(0, self.replays_pending - 1)
            await self.close_with(CLOSE_INTERNAL_ERROR)

    async def replay_from_database(self, after_id: int) -> tuple[int, int]:
        """Sends the stored notices after `after_id`, page by page: (how many were sent, last id read)."""
        sent = 0
        cursor = after_id
        while not self.closing:
            page = await self.read_page(cursor)
            for notice in page:
                if await self.deliver(notice):
                    sent += 1
            if page:
                cursor = page[-1]["id"]
            if len(page) < REPLAY_PAGE_SIZE:
                break
        return sent, cursor

    async def read_page(self, after_id: int) -> list[dict[str, Any]]:
        return await database_sync_to_async(notices_after)(
            user_id=self.user_id, after_id=after_id, limit=REPLAY_PAGE_SIZE
        )

    async def deliver(self, notice: dict[str, Any]) -> bool:
        notice_id = notice.get("id")
        if self.closing or not isinstance(notice_id, int) or notice_id in self.sent_ids:
            return False
        self.remember(notice_id)
        await self.send_json({"type": "notice", "notice": notice})
        return True

    def remember(self, notice_id: int) -> None:
        self.sent_ids.add(notice_id)
        self.sent_order.append(notice_id)
        if len(self.sent_order) > SENT_IDS_KEPT:
            self.sent_ids.discard(self.sent_order.popleft())
        self.highest_sent = max(self.highest_sent, notice_id)

    # Channel layer → client

    async def notice_message(self, event: dict[str, Any]) -> None:
        if not await self.may_deliver():
            return
        notice = event.get("notice")
        if not isinstance(notice, dict) or not isinstance(notice.get("id"), int):
            logger.warning("notice.message without a notice id for user %s", self.user_id)
            return
        if self.replays_pending:
            if len(self.live_buffer) < LIVE_BUFFER_MAX:
                self.live_buffer.append(notice)
            else:
                self.live_buffer_overflowed = True
            return
        await self.deliver(notice)

    async def event_message(self, event: dict[str, Any]) -> None:
        if not await self.may_deliver():
            return
        await self.send_json({"type": "event", "event": event.get("event"), "data": event.get("data") or {}})

    async def session_close(self, event: dict[str, Any]) -> None:
        """The account was deactivated or deleted, or lost a role: what it may receive has changed.

        The client refreshes its token and reconnects, as at expiry; a dead account's refresh fails
        and it must sign in again, a live one comes back with its current scope.
        """
        await self.close_with(CLOSE_UNAUTHORIZED)

    async def may_deliver(self) -> bool:
        if self.closing or self.user_id is None:
            return False
        if self.token_expired():
            await self.close_with(CLOSE_UNAUTHORIZED)
            return False
        return True

    # Helpers

    async def send_error(self, code: str, detail: str, **extra: Any) -> None:
        # `request` names the client message type being answered, when there is one.
        await self.send_json({"type": "error", "code": code, "detail": detail, **extra})

    @classmethod
    async def encode_json(cls, content: dict[str, Any]) -> str:
        # Chinese text stays readable and a third smaller than \u escapes.
        return json.dumps(content, cls=DjangoJSONEncoder, ensure_ascii=False)
