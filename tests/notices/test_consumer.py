"""The notices WebSocket through the real ASGI stack (origin check → JWT → router → consumer).

Async tests that touch the database run with `transaction=True`: the consumer reads through
other threads, which must see committed rows. Every socket is disconnected at teardown.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from backend.core.errors import DomainError
from backend.core.events import Audience, watch_permission
from backend.notices import consumers, presence, services
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/notices/"


def token_for(user, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


@pytest.fixture(autouse=True)
def private_channel_layer(settings):
    """A fresh layer per test (and, on Redis, a prefix no other run shares)."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    if "CONFIG" in layers["default"]:
        layers["default"]["CONFIG"]["prefix"] = f"t{uuid.uuid4().hex[:10]}"
    settings.CHANNEL_LAYERS = layers


@pytest.fixture
async def sockets():
    """`sockets(path, headers=…)` → a WebsocketCommunicator, always disconnected at the end."""
    opened: list[WebsocketCommunicator] = []

    def open_socket(path: str = PATH, *, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(application, path, headers=headers or [])
        opened.append(communicator)
        return communicator

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def user(db):
    return factories.UserFactory()


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def connected(sockets, user, **kwargs) -> WebsocketCommunicator:
    """A socket for `user` past its hello."""
    communicator = sockets(headers=bearer(token_for(user, **kwargs)))
    accepted, _ = await communicator.connect()
    assert accepted
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 1) -> int | None:
    message = await communicator.receive_output(timeout)
    assert message["type"] == "websocket.close", message
    return message.get("code")


# Authentication


async def test_token_in_the_authorization_header_signs_in(sockets, user):
    communicator = sockets(headers=bearer(token_for(user)))
    accepted, _ = await communicator.connect()
    assert accepted
    assert await communicator.receive_json_from() == {"type": "hello", "user_id": user.pk, "last_notice_id": 0}


async def test_token_in_the_query_string_signs_in(sockets, user):
    communicator = sockets(f"{PATH}?token={token_for(user)}")
    accepted, _ = await communicator.connect()
    assert accepted
    hello = await communicator.receive_json_from()
    assert (hello["type"], hello["user_id"]) == ("hello", user.pk)


async def test_without_a_token_the_handshake_is_accepted_then_closed_with_4401(sockets):
    communicator = sockets()
    accepted, _ = await communicator.connect()
    assert accepted, "a refused handshake reaches wx.connectSocket without a close code"
    assert await closed_with(communicator) == 4401


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer not-a-jwt")],
        [(b"authorization", b"Basic dXNlcjpwYXNz")],
        [(b"authorization", b"Bearer")],
    ],
    ids=["garbage", "wrong-scheme", "empty"],
)
async def test_a_bad_token_is_closed_with_4401(sockets, headers):
    communicator = sockets(headers=headers)
    accepted, _ = await communicator.connect()
    assert accepted
    assert await closed_with(communicator) == 4401


async def test_an_expired_or_refresh_or_inactive_users_token_is_closed_with_4401(sockets, user):
    from rest_framework_simplejwt.tokens import RefreshToken

    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=timedelta(seconds=-1))
    inactive = await database_sync_to_async(factories.UserFactory)(is_active=False)
    refresh = await database_sync_to_async(RefreshToken.for_user)(user)
    for token in (str(expired), str(refresh), token_for(inactive)):
        communicator = sockets(headers=bearer(token))
        accepted, _ = await communicator.connect()
        assert accepted
        assert await closed_with(communicator) == 4401


async def test_the_socket_closes_with_4401_when_the_access_token_expires(sockets, user):
    # `exp` is whole seconds, so a two-second token has between one and two seconds left.
    communicator = await connected(sockets, user, lifetime=timedelta(seconds=2))
    assert await closed_with(communicator, timeout=4) == 4401


async def test_a_message_after_expiry_is_answered_by_4401_even_before_the_timer(sockets, user, monkeypatch):
    async def late_timer(self, token_exp):
        await asyncio.sleep(3600)

    monkeypatch.setattr(consumers.NoticeConsumer, "close_at_expiry", late_timer)
    communicator = await connected(sockets, user, lifetime=timedelta(seconds=2))
    await asyncio.sleep(2.1)
    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == 4401


# Origin


async def test_a_foreign_browser_origin_is_refused_before_accept(sockets, user):
    for origin in (b"https://evil.example", b"null", b"http://localhost.evil.example"):
        communicator = sockets(headers=[(b"origin", origin), *bearer(token_for(user))])
        accepted, _ = await communicator.connect()
        assert not accepted, origin


async def test_an_allowed_origin_and_a_missing_origin_go_on_to_authentication(sockets, user):
    with_origin = sockets(headers=[(b"origin", b"http://localhost:8000"), *bearer(token_for(user))])
    accepted, _ = await with_origin.connect()
    assert accepted
    assert (await with_origin.receive_json_from())["type"] == "hello"

    without_origin_or_token = sockets()
    accepted, _ = await without_origin_or_token.connect()
    assert accepted
    assert await closed_with(without_origin_or_token) == 4401


# Messages


async def test_ping_answers_pong_and_keeps_the_user_online(sockets, user):
    communicator = await connected(sockets, user)
    assert await database_sync_to_async(presence.is_online)(user.pk)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    await communicator.disconnect()
    assert not await database_sync_to_async(presence.is_online)(user.pk)


MALFORMED = [
    "not json",
    "[1, 2]",
    '{"no": "type"}',
    '{"type": "dance"}',
    '{"type": "resume"}',
    '{"type": "resume", "after_id": -1}',
    '{"type": "resume", "after_id": "3"}',
    '{"type": "watch", "activity_id": true}',
    '{"type": "unwatch"}',
    json.dumps({"type": "ping", "pad": "x" * 5000}),
]


async def test_malformed_messages_get_a_validation_error_and_the_socket_stays(sockets, user):
    communicator = await connected(sockets, user)
    for frame in MALFORMED:
        await communicator.send_to(text_data=frame)
        answer = await communicator.receive_json_from()
        assert (answer["type"], answer["code"]) == ("error", "validation_error"), frame
    await communicator.send_to(bytes_data=b'{"type": "ping"}')
    answer = await communicator.receive_json_from()
    assert (answer["type"], answer["code"]) == ("error", "validation_error")
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}


async def test_events_for_the_user_arrive_as_event_messages(sockets, user):
    communicator = await connected(sockets, user)
    await get_channel_layer().group_send(
        f"user.{user.pk}", {"type": "event.message", "event": "registration.approved", "data": {"id": 7}}
    )
    assert await communicator.receive_json_from() == {
        "type": "event",
        "event": "registration.approved",
        "data": {"id": 7},
    }


# Watching an activity's attendance


@pytest.fixture
def activity_watch_rule():
    """Registers the activities app's rule for the test: `rule.allowed` holds (user_id, activity_id) pairs."""

    class Rule:
        allowed: set[tuple[int, int]] = set()
        denied_in_scope: set[tuple[int, int]] = set()

        def __call__(self, user, activity_id):
            if (user.pk, activity_id) in self.denied_in_scope:
                raise DomainError("permission_denied", "只有工作人员可以查看签到情况")
            return (user.pk, activity_id) in self.allowed

    previous = watch_permission.get("activity")
    rule = Rule()
    watch_permission.register("activity", rule)
    yield rule
    if previous is None:
        watch_permission.unregister("activity")
    else:
        watch_permission.register("activity", previous)


async def attendance_changed(activity_id: int, checked_in: int) -> None:
    await get_channel_layer().group_send(
        f"activity.{activity_id}.attendance",
        {
            "type": "event.message",
            "event": "attendance.changed",
            "data": {"activity_id": activity_id, "checked_in": checked_in},
        },
    )


async def test_staff_in_scope_watch_and_unwatch_attendance(sockets, user, activity_watch_rule):
    activity_watch_rule.allowed.add((user.pk, 41))
    communicator = await connected(sockets, user)
    await communicator.send_json_to({"type": "watch", "activity_id": 41})
    assert await communicator.receive_json_from() == {"type": "watching", "activity_id": 41}

    await attendance_changed(41, 3)
    event = await communicator.receive_json_from()
    assert event == {"type": "event", "event": "attendance.changed", "data": {"activity_id": 41, "checked_in": 3}}

    await communicator.send_json_to({"type": "unwatch", "activity_id": 41})
    assert await communicator.receive_json_from() == {"type": "unwatched", "activity_id": 41}
    await attendance_changed(41, 4)
    assert await communicator.receive_nothing(timeout=0.3)


async def test_watching_out_of_scope_is_refused_and_delivers_nothing(sockets, user, activity_watch_rule):
    activity_watch_rule.allowed.add((user.pk + 1000, 42))
    communicator = await connected(sockets, user)
    await communicator.send_json_to({"type": "watch", "activity_id": 42})
    answer = await communicator.receive_json_from()
    assert (answer["type"], answer["code"], answer["activity_id"]) == ("error", "not_found", 42)
    await attendance_changed(42, 1)
    assert await communicator.receive_nothing(timeout=0.3)


async def test_a_rule_may_refuse_with_its_own_code(sockets, user, activity_watch_rule):
    activity_watch_rule.denied_in_scope.add((user.pk, 43))
    communicator = await connected(sockets, user)
    await communicator.send_json_to({"type": "watch", "activity_id": 43})
    answer = await communicator.receive_json_from()
    assert (answer["type"], answer["code"]) == ("error", "permission_denied")


async def test_without_a_registered_rule_nothing_can_be_watched(sockets, user):
    previous = watch_permission.get("activity")
    watch_permission.unregister("activity")
    try:
        communicator = await connected(sockets, user)
        await communicator.send_json_to({"type": "watch", "activity_id": 44})
        answer = await communicator.receive_json_from()
        assert (answer["type"], answer["code"]) == ("error", "not_found")
    finally:
        if previous is not None:
            watch_permission.register("activity", previous)


# Notices: live, replay, and what a rollback does not send


def send_notice(user, title: str = "通知") -> int:
    return services.create_notice(sender=None, title=title, body="正文", audience=Audience.user(user)).pk


asend_notice = database_sync_to_async(send_notice)


async def receive_notices(communicator, expected: set[int], timeout: float = 10) -> tuple[list[int], dict | None]:
    """Notice ids in arrival order until every expected one came (and `resumed`, after a resume).

    The `resumed` message comes back with `after`: how many notices had arrived before it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[int] = []
    resumed = None
    while not expected <= set(got) or (resumed is None and getattr(communicator, "resuming", False)):
        message = await communicator.receive_json_from(timeout=max(0.05, deadline - loop.time()))
        if message["type"] == "notice":
            got.append(message["notice"]["id"])
        elif message["type"] == "resumed":
            resumed = {**message, "after": len(got)}
            communicator.resuming = False
        else:
            raise AssertionError(f"unexpected {message}")
    return got, resumed


async def resume(communicator, after_id: int) -> None:
    communicator.resuming = True
    await communicator.send_json_to({"type": "resume", "after_id": after_id})


async def test_hello_carries_the_last_notice_id_and_live_notices_arrive(sockets, user):
    other = await database_sync_to_async(factories.UserFactory)()
    await asend_notice(user)
    latest = await asend_notice(user)
    await asend_notice(other)
    communicator = sockets(headers=bearer(token_for(user)))
    await communicator.connect()
    assert await communicator.receive_json_from() == {"type": "hello", "user_id": user.pk, "last_notice_id": latest}

    live_id = await asend_notice(user, title="停水通知")
    message = await communicator.receive_json_from()
    assert message["type"] == "notice"
    notice = message["notice"]
    assert (notice["id"], notice["title"], notice["body"], notice["read_at"]) == (live_id, "停水通知", "正文", None)
    assert {"kind", "created_at"} <= notice.keys()
    await asend_notice(other)
    assert await communicator.receive_nothing(timeout=0.3)


async def test_a_rolled_back_notice_is_never_sent(sockets, user):
    communicator = await connected(sockets, user)

    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            send_notice(user, title="撤回")
            raise RuntimeError("the surrounding write failed")

    await database_sync_to_async(rolled_back)()
    committed = await asend_notice(user, title="正式")
    message = await communicator.receive_json_from()
    assert (message["notice"]["id"], message["notice"]["title"]) == (committed, "正式")
    assert await communicator.receive_nothing(timeout=0.3)


async def test_resume_replays_in_order_then_goes_live(sockets, user):
    first = await connected(sockets, user)
    seen = [await asend_notice(user) for _ in range(2)]
    got, _ = await receive_notices(first, set(seen))
    assert got == seen
    await first.disconnect()

    missed = [await asend_notice(user) for _ in range(5)]
    second = await connected(sockets, user)
    await resume(second, seen[-1])
    got, resumed = await receive_notices(second, set(missed))
    assert got == missed
    assert resumed == {"type": "resumed", "count": 5, "last_notice_id": missed[-1], "after": 5}
    live_id = await asend_notice(user)
    assert (await second.receive_json_from())["notice"]["id"] == live_id


async def test_notices_committed_during_the_replay_come_once_after_it(sockets, user, monkeypatch):
    """One notice commits just before the replay reads (so it is in both the read and the live
    stream), one just after (live only, and it reaches the socket while the replay is running)."""
    older = [await asend_notice(user) for _ in range(3)]
    during: list[int] = []
    real_read_page = consumers.NoticeConsumer.read_page

    async def racing_read_page(self, after_id):
        if during:
            return await real_read_page(self, after_id)
        during.append(await asend_notice(user, title="读之前"))
        page = await real_read_page(self, after_id)
        during.append(await asend_notice(user, title="读之后"))
        # Hold the replay open while both live copies reach the consumer.
        await asyncio.sleep(0.3)
        return page

    monkeypatch.setattr(consumers.NoticeConsumer, "read_page", racing_read_page)
    communicator = await connected(sockets, user)
    await resume(communicator, 0)
    got, resumed = await receive_notices(communicator, set(older))
    got += (await receive_notices(communicator, set(during) - set(got)))[0]
    assert got == [*older, *during]
    assert resumed == {"type": "resumed", "count": 4, "last_notice_id": during[-1], "after": 5}, (
        "the notice committed after the read came from the buffer, before `resumed`"
    )
    assert await communicator.receive_nothing(timeout=0.3)


async def test_live_notices_past_the_buffer_are_read_again_from_the_database(sockets, user, monkeypatch):
    monkeypatch.setattr(consumers, "LIVE_BUFFER_MAX", 1)
    older = await asend_notice(user)
    during: list[int] = []
    real_read_page = consumers.NoticeConsumer.read_page

    async def crowded_read_page(self, after_id):
        page = await real_read_page(self, after_id)
        if not during:
            during.extend([await asend_notice(user, title=f"拥挤{n}") for n in range(3)])
            await asyncio.sleep(0.3)
        return page

    monkeypatch.setattr(consumers.NoticeConsumer, "read_page", crowded_read_page)
    communicator = await connected(sockets, user)
    await resume(communicator, 0)
    got, resumed = await receive_notices(communicator, {older})
    got += (await receive_notices(communicator, set(during) - set(got)))[0]
    assert got == [older, *during]
    assert resumed["after"] == 4, "all of them came before `resumed`, none twice"
    assert await communicator.receive_nothing(timeout=0.3)


async def test_replay_after_a_disconnect_has_no_gap_and_no_duplicate_while_notices_keep_coming(
    sockets, user, monkeypatch
):
    # Small pages make the replay span many reads, so live notices land in the middle of it.
    monkeypatch.setattr(consumers, "REPLAY_PAGE_SIZE", 3)
    other = await database_sync_to_async(factories.UserFactory)()
    first = await connected(sockets, user)
    seen = [await asend_notice(user) for _ in range(3)]
    await receive_notices(first, set(seen))
    await first.disconnect()
    missed = [await asend_notice(user) for _ in range(10)]

    async def keep_sending() -> list[int]:
        sent = []
        for n in range(25):
            sent.append(await asend_notice(user, title=f"续{n}"))
            await asend_notice(other)
            await asyncio.sleep(0.005)
        return sent

    second = await connected(sockets, user)
    await resume(second, seen[-1])
    arriving = await asyncio.ensure_future(keep_sending())
    expected = [*missed, *arriving]
    got, resumed = await receive_notices(second, set(expected), timeout=20)
    assert await second.receive_nothing(timeout=0.3)
    assert len(got) == len(set(got)), "a notice came twice"
    assert sorted(got) == expected, "a notice is missing or foreign"
    assert resumed is not None and resumed["count"] >= len(missed)
    assert [notice_id for notice_id in got if notice_id in missed] == missed


async def test_two_sockets_of_one_user_both_get_each_notice(sockets, user):
    phone, console = await connected(sockets, user), await connected(sockets, user)
    notice_id = await asend_notice(user)
    for communicator in (phone, console):
        assert (await communicator.receive_json_from())["notice"]["id"] == notice_id


# When the channel layer fails


class FailingLayer(InMemoryChannelLayer):
    """The in-memory layer, failing the way channels_redis does when Redis goes away."""

    refuse_joins = False
    broken: asyncio.Event = asyncio.Event()

    async def group_add(self, group, channel):
        if FailingLayer.refuse_joins:
            raise ConnectionError("Error 111 connecting to Redis")
        return await super().group_add(group, channel)

    async def receive(self, channel):
        receiving = asyncio.ensure_future(super().receive(channel))
        breaking = asyncio.ensure_future(FailingLayer.broken.wait())
        done, _pending = await asyncio.wait({receiving, breaking}, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            breaking.cancel()
            return receiving.result()
        receiving.cancel()
        raise ConnectionError("Connection closed by server.")


@pytest.fixture
def failing_layer(settings):
    FailingLayer.refuse_joins = False
    FailingLayer.broken = asyncio.Event()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.FailingLayer"}}
    return FailingLayer


def test_every_close_code_is_one_daphne_lets_an_application_send():
    # daphne's websocket layer (autobahn) raises on any other code: the consumer crashed instead of closing.
    codes = {value for name, value in vars(consumers).items() if name.startswith("CLOSE_")}
    assert codes and all(code == 1000 or 3000 <= code <= 4999 for code in codes), codes


async def test_without_the_channel_layer_a_new_socket_is_closed_with_4503(failing_layer, user):
    failing_layer.refuse_joins = True
    communicator = WebsocketCommunicator(application, PATH, headers=bearer(token_for(user)))
    accepted, _ = await communicator.connect()
    assert accepted
    assert await closed_with(communicator) == consumers.CLOSE_TRY_AGAIN_LATER == 4503
    assert not await database_sync_to_async(presence.is_online)(user.pk)
    await communicator.disconnect()


async def test_a_socket_whose_live_stream_breaks_is_counted_closed_and_its_timers_stop(failing_layer, user):
    communicator = WebsocketCommunicator(application, PATH, headers=bearer(token_for(user)))
    accepted, _ = await communicator.connect()
    assert accepted
    assert (await communicator.receive_json_from())["type"] == "hello"
    assert await database_sync_to_async(presence.is_online)(user.pk)

    failing_layer.broken.set()
    # The consumer fails as it did with Redis gone (daphne then closes the socket with 1011 itself,
    # and sends no websocket.disconnect): it must still count the socket closed and stop its timers.
    with pytest.raises(ConnectionError):
        await communicator.receive_output(timeout=2)
    assert not await database_sync_to_async(presence.is_online)(user.pk)
    heartbeats = [task for task in asyncio.all_tasks() if "keep_presence" in repr(task.get_coro())]
    assert not heartbeats, "the heartbeat outlived its socket: the user stays online for good"
