"""The throttles count in one cache call per request, not a pickled history read and written back."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from backend.core import throttling

pytestmark = pytest.mark.django_db


class CountingCache:
    """The real cache, with every call counted by name; a cache other than django-redis to the
    throttles (no `client`), so that they go through `incr` and `add` on any backing."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name):
        if name == "client":
            raise AttributeError(name)
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def counted(*args, **kwargs):
            self.calls.append(name)
            return target(*args, **kwargs)

        return counted


class DownCache:
    """django-redis with IGNORE_EXCEPTIONS while Redis is down: every call answers None."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def anon_throttle(monkeypatch, rate: str, backing) -> throttling.AnonThrottle:
    monkeypatch.setitem(throttling.AnonThrottle.THROTTLE_RATES, "anon", rate)
    throttle = throttling.AnonThrottle()
    throttle.cache = backing
    return throttle


def request_from(address: str):
    request = APIRequestFactory().get("/api/v1/streets/", REMOTE_ADDR=address)
    request.user = None
    return request


def test_without_a_lease_a_request_costs_one_cache_call_once_the_window_is_open(monkeypatch):
    monkeypatch.setattr(throttling.AnonThrottle, "lease_size", 0)
    counting = CountingCache(cache)
    throttle = anon_throttle(monkeypatch, "100/min", counting)
    request = request_from("198.51.100.1")

    assert throttle.allow_request(request, None)
    opened = list(counting.calls)
    counting.calls.clear()
    for _ in range(20):
        assert throttle.allow_request(request, None)

    # Opening the window: a failed incr, then add. Afterwards one incr each, whatever the count.
    assert opened == ["incr", "add"]
    assert counting.calls == ["incr"] * 20
    # What is stored is a number, not a list of request times.
    assert cache.get(throttle.counter_key) == 21


def test_the_rate_is_held_per_client_and_the_wait_is_within_the_window(monkeypatch):
    throttle = anon_throttle(monkeypatch, "3/min", cache)
    first, second = request_from("198.51.100.2"), request_from("198.51.100.3")

    assert [throttle.allow_request(first, None) for _ in range(4)] == [True, True, True, False]
    assert 0 < throttle.wait() <= 60
    assert throttle.allow_request(second, None)


def test_a_history_left_under_the_plain_key_does_not_break_the_counter(monkeypatch):
    """DRF's throttles kept a list under `throttle_<scope>_<ident>`: after a deploy, the cache may
    still hold one, and incr on a list fails."""
    throttle = anon_throttle(monkeypatch, "2/min", cache)
    request = request_from("198.51.100.4")
    cache.set(throttle.get_cache_key(request, None), [1.0, 2.0, 3.0], 60)

    assert [throttle.allow_request(request, None) for _ in range(3)] == [True, True, False]


def test_the_throttles_stay_open_while_the_cache_is_down(monkeypatch):
    throttle = anon_throttle(monkeypatch, "1/min", DownCache())
    request = request_from("198.51.100.5")

    assert all(throttle.allow_request(request, None) for _ in range(5))
    assert throttle.wait() == 60


def test_another_process_opening_the_window_first_is_counted_on(monkeypatch):
    """Two processes miss the counter at once: the one whose add loses counts on the other's key."""
    throttle = anon_throttle(monkeypatch, "5/min", cache)
    request = request_from("198.51.100.6")
    real_add = cache.add

    def lose_the_race(key, value, timeout):
        real_add(key, 1, timeout)  # the other process's add lands first
        return real_add(key, value, timeout)

    monkeypatch.setattr(throttle, "cache", CountingCache(cache))
    monkeypatch.setattr(throttle.cache, "add", lose_the_race, raising=False)

    assert throttle.allow_request(request, None)
    assert cache.get(throttle.counter_key) == 2


def test_a_lease_lets_a_process_ask_the_cache_once_per_lease(monkeypatch):
    counting = CountingCache(cache)
    throttle = anon_throttle(monkeypatch, "1000/min", counting)
    request = request_from("198.51.100.11")

    assert all(throttle.allow_request(request, None) for _ in range(35))

    # The first request opens the window and is granted a lease of 16; the 18th counts itself and
    # the 16 it owes, and is granted another; the 35th counts the second lease's 16.
    assert counting.calls == ["incr", "add", "incr", "incr"]
    assert cache.get(throttle.counter_key) == 35


def test_near_the_rate_the_lease_shrinks_and_the_refusal_is_exact(monkeypatch):
    counting = CountingCache(cache)
    throttle = anon_throttle(monkeypatch, "40/min", counting)
    request = request_from("198.51.100.12")

    answers = [throttle.allow_request(request, None) for _ in range(45)]

    assert answers == [True] * 40 + [False] * 5
    # Leases of 4, 4, 3, 3, 2, 2, 1, 1, 1, 1 requests, then none from the 33rd (7 left: less than
    # an eighth of a request each): fewer round trips than requests, none owed at the refusal.
    assert counting.calls.count("incr") + counting.calls.count("add") < 45 - 20
    assert cache.get(throttle.counter_key) == 45


def test_two_processes_let_through_at_most_the_rate_and_their_leases(monkeypatch):
    throttle = anon_throttle(monkeypatch, "200/min", cache)
    request = request_from("198.51.100.13")
    processes = [throttling.Leases(100), throttling.Leases(100)]

    allowed = 0
    for i in range(400):
        monkeypatch.setattr(throttling, "leases", processes[i % 2])
        allowed += throttle.allow_request(request, None)

    assert 200 <= allowed <= 200 + 2 * throttling.GENERAL_LEASE
    # Every request let through is counted, now or owed on a lease still held.
    owed = sum(int(lease[1]) for table in processes for lease in table._leases.values())
    assert cache.get(throttle.counter_key) + owed == 400


def test_requests_owed_on_an_expired_lease_are_counted_by_the_next(monkeypatch):
    throttle = anon_throttle(monkeypatch, "1000/min", cache)
    request = request_from("198.51.100.14")
    now = [1000.0]
    monkeypatch.setattr(throttling.time, "monotonic", lambda: now[0])

    for _ in range(6):  # one counted, five owed on its lease
        assert throttle.allow_request(request, None)
    assert cache.get(throttle.counter_key) == 1
    now[0] += throttling.LEASE_SECONDS
    assert throttle.allow_request(request, None)
    assert cache.get(throttle.counter_key) == 7


def test_a_lease_granted_to_a_second_thread_keeps_what_the_first_owes(monkeypatch):
    """Two threads of a process count a request of one client at once; the first is granted a lease
    and lets ten through on it before the second's grant arrives. Those ten stay owed."""
    table = throttling.Leases(100)
    table.grant("throttle_user_1", 16, 5)
    assert all(table.take("throttle_user_1") is None for _ in range(10))
    table.grant("throttle_user_1", 16, 5)  # the slower thread
    assert all(table.take("throttle_user_1") is None for _ in range(6))  # what was left: 16 - 10
    assert table.take("throttle_user_1") == 16  # used up: every request let through is owed
    table.grant("throttle_user_1", 0, 5)
    assert table.take("throttle_user_1") == 0  # near the rate: no lease


def test_near_the_rate_a_second_grant_shrinks_the_lease_held():
    table = throttling.Leases(100)
    table.grant("throttle_user_2", 16, 5)
    assert table.take("throttle_user_2") is None
    table.grant("throttle_user_2", 0, 5)  # another thread's count found the rate near
    assert table.take("throttle_user_2") == 1


def test_a_full_table_drops_the_expired_leases_first(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(throttling.time, "monotonic", lambda: now[0])
    table = throttling.Leases(3)
    table.grant("old", 16, 1)
    now[0] += 0.5
    table.grant("a", 16, 5)
    table.grant("b", 16, 5)
    assert table.take("a") is None
    now[0] += 1  # "old" has expired, "a" and "b" run
    table.grant("c", 16, 5)
    assert set(table._leases) == {"a", "b", "c"}
    assert table._leases["a"][1] == 1  # still owed
    table.grant("d", 16, 5)  # full of running leases: emptied
    assert set(table._leases) == {"d"}


def test_the_leases_are_the_general_rates_only():
    """Logins, codes, check-ins and attempts count every request at once."""
    from rest_framework.throttling import SimpleRateThrottle

    import backend.urls  # noqa: F401

    leased = {cls for cls in subclasses(SimpleRateThrottle) if getattr(cls, "lease_size", 0)}
    assert leased == {throttling.UserThrottle, throttling.AnonThrottle}


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def test_every_throttle_of_the_api_counts():
    """A throttle on DRF's history would bring the pickling back on its path."""
    from rest_framework.throttling import SimpleRateThrottle

    import backend.urls  # noqa: F401  (every view, so every throttle class, is loaded)

    ours = {cls for cls in subclasses(SimpleRateThrottle) if cls.__module__.startswith("backend.")}

    assert {"CheckInThrottle", "AppealFilingThrottle", "CertificatePdfThrottle", "AnonThrottle"} <= {
        cls.__name__ for cls in ours
    }
    assert [cls for cls in ours if not issubclass(cls, throttling.CounterThrottle)] == []


def redis_cache(location: str = "redis://127.0.0.1:6379/0"):
    """A django-redis cache of its own (a key prefix per test), as production configures it."""
    import uuid

    from django_redis.cache import RedisCache

    return RedisCache(
        location,
        {
            "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex[:12]}",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        },
    )


@pytest.fixture
def redis_backed():
    backing = redis_cache()
    try:
        backing.client.get_client(write=True).ping()
    except Exception:  # no Redis here: the embedded default runs without one
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield backing
    backing.delete_pattern("*")


def commands_sent(monkeypatch, backing) -> list[tuple]:
    """Every command the throttles send to the cache's Redis client from now on, with its arguments."""
    raw = backing.client.get_client(write=True)
    sent: list[tuple] = []
    real_execute = raw.execute_command

    def counting(*args, **kwargs):
        sent.append(args)
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(raw, "execute_command", counting)
    return sent


def test_on_redis_a_request_is_one_command_and_the_window_expires(monkeypatch, redis_backed):
    """INCR, and EXPIRE when it opens the window: no Lua script, and every counter has its expiry."""
    throttle = anon_throttle(monkeypatch, "3/min", redis_backed)
    request = request_from("198.51.100.7")
    sent = commands_sent(monkeypatch, redis_backed)

    assert [throttle.allow_request(request, None) for _ in range(4)] == [True, True, True, False]
    # The refusal also asks for the expiry (a counter without one would be started again).
    assert [command[0] for command in sent] == ["INCRBY", "EXPIRE", "INCRBY", "INCRBY", "INCRBY", "TTL"]
    assert redis_backed.get(throttle.counter_key) == 4
    assert 0 < redis_backed.ttl(throttle.counter_key) <= 60
    assert 0 < throttle.wait() <= 60


def test_on_redis_a_lease_is_one_incrby_per_lease(monkeypatch, redis_backed):
    throttle = anon_throttle(monkeypatch, "1000/min", redis_backed)
    request = request_from("198.51.100.15")
    sent = commands_sent(monkeypatch, redis_backed)

    assert all(throttle.allow_request(request, None) for _ in range(35))
    full_key = redis_backed.make_key(throttle.counter_key)
    assert sent == [
        ("INCRBY", full_key, 1),
        ("EXPIRE", full_key, 60),
        ("INCRBY", full_key, 17),
        ("INCRBY", full_key, 17),
    ]
    assert redis_backed.get(throttle.counter_key) == 35


def test_on_redis_a_counter_left_without_expiry_starts_again(monkeypatch, redis_backed):
    """A process that died between INCR and EXPIRE: the counter would otherwise refuse for ever."""
    throttle = anon_throttle(monkeypatch, "2/min", redis_backed)
    request = request_from("198.51.100.10")
    throttle.allow_request(request, None)
    raw = redis_backed.client.get_client(write=True)
    raw.set(redis_backed.make_key(throttle.counter_key), 2)  # at the rate, no expiry

    assert throttle.allow_request(request, None)
    assert 0 < redis_backed.ttl(throttle.counter_key) <= 60
    assert [throttle.allow_request(request, None) for _ in range(2)] == [True, False]


def test_on_redis_a_history_under_the_plain_key_does_not_break_the_counter(monkeypatch, redis_backed):
    throttle = anon_throttle(monkeypatch, "2/min", redis_backed)
    request = request_from("198.51.100.8")
    redis_backed.set(throttle.get_cache_key(request, None), [1.0, 2.0, 3.0], 60)

    assert [throttle.allow_request(request, None) for _ in range(3)] == [True, True, False]


def test_with_redis_down_the_throttles_stay_open(monkeypatch):
    from backend.core.throttling import _redis_client

    down = redis_cache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    throttle = anon_throttle(monkeypatch, "1/min", down)
    assert _redis_client(down) is not None
    request = request_from("198.51.100.9")

    assert all(throttle.allow_request(request, None) for _ in range(3))
    assert throttle.wait() == 60
