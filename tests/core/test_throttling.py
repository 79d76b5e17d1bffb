"""The throttles count in one cache call per request, not a pickled history read and written back."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from backend.core import throttling

pytestmark = pytest.mark.django_db


class CountingCache:
    """The real cache, with every call counted by name."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name):
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


def test_a_request_costs_one_cache_call_once_the_window_is_open(monkeypatch):
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
