"""Presence: a per-user count of open sockets in the shared cache, kept alive by heartbeats."""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync

from backend.notices import presence


def test_sockets_are_counted_per_user():
    assert presence.connected(1) == 1
    assert presence.connected(1) == 2
    assert presence.connected(2) == 1
    assert presence.online_user_ids([1, 2, 3]) == {1, 2}
    assert presence.disconnected(1) == 1
    assert presence.is_online(1)
    assert presence.disconnected(1) == 0
    assert not presence.is_online(1)
    assert presence.disconnected(1) == 0, "a close never counts below zero"
    assert presence.connected(1) == 1
    assert presence.online_user_ids([1, 2]) == {1, 2}


def test_a_closed_socket_nobody_counted_is_harmless():
    assert presence.disconnected(77) == 0
    assert not presence.is_online(77)


def test_without_heartbeats_a_user_goes_offline_after_the_ttl(settings):
    settings.NOTICES_PRESENCE_TTL = 1
    presence.connected(5)
    assert presence.is_online(5)
    time.sleep(2.2)
    assert not presence.is_online(5), "a process that died with the socket open must not keep it online"


def test_heartbeats_keep_a_user_online(settings):
    settings.NOTICES_PRESENCE_TTL = 2
    presence.connected(6)
    time.sleep(1.2)
    presence.refresh(6)
    time.sleep(1.2)
    assert presence.is_online(6)


def test_a_heartbeat_after_expiry_counts_the_socket_again(settings):
    settings.NOTICES_PRESENCE_TTL = 1
    presence.connected(8)
    time.sleep(2.2)
    presence.refresh(8)
    assert presence.is_online(8)


def test_the_async_variants_for_the_consumer():
    async_to_sync(presence.aconnected)(9)
    assert async_to_sync(presence.ais_online)(9)
    async_to_sync(presence.arefresh)(9)
    async_to_sync(presence.adisconnected)(9)
    assert not presence.is_online(9)


def test_many_users_are_looked_up_in_chunks():
    for user_id in range(995, 1010):
        presence.connected(user_id)
    assert presence.online_user_ids(range(2500)) == set(range(995, 1010))
