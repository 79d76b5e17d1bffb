import hashlib
import logging
import threading
import time
from collections.abc import Mapping

from django.utils.translation import gettext as _
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.exceptions import ValidationError


class StringInputsBeforeThrottles:
    """A view mixin: the inputs its throttles count by (`string_inputs`) must be strings, checked
    before any throttle runs. A JSON number for `phone` or `code` had no throttle key (the
    throttles count strings only) yet was accepted by the serializer as its digits."""

    string_inputs: tuple[str, ...] = ()

    def check_throttles(self, request):
        data = request.data if isinstance(request.data, Mapping) else {}
        wrong = {
            name: [_("必须是字符串")] for name in self.string_inputs if name in data and not isinstance(data[name], str)
        }
        if wrong:
            raise ValidationError(wrong)
        super().check_throttles(request)  # type: ignore[misc]  # a mixin: the view it is mixed into has it


logger = logging.getLogger(__name__)


def _redis_client(cache):
    """The redis-py client behind a django-redis cache, or None for any other cache (the tests'
    in-memory one, a misconfiguration): those go through the cache's own `incr` and `add`."""
    client = getattr(cache, "client", None)
    get_client = getattr(client, "get_client", None)
    if get_client is None or not hasattr(client, "make_key"):
        return None
    return client


def _key(value: str) -> str:
    """The throttle key of an input, normalised as its serializer reads it (surrounding spaces trimmed)."""
    return hashlib.sha256(value.strip().encode()).hexdigest()[:32]


# A lease is at most this share of what is left of the rate when it is granted, so that near the
# rate every request is counted at once; and it lasts this long at most.
LEASE_SHARE = 8
LEASE_SECONDS = 5
# Keys with a lease kept per process; when full, the expired ones are dropped (each then leaves at
# most a lease's requests uncounted), and all of them if none has expired.
LEASES_MAX = 50_000


class Leases:
    """Requests a process may let through for a throttle key without asking the cache, and the
    requests it owes the count for having done so.

    A lease is granted after a request is counted: while it lasts, the next requests of that key
    in this process are let through and owed; the request that finds it used up or expired counts
    itself and all those owed in one `INCRBY`. Owed requests are counted late (perhaps in the next
    window; only a full table, `LEASES_MAX`, drops some), and until then the shared count does not
    see them: with P
    processes, a key's window lets through at most its rate plus P leases. A lease is at most
    `LEASE_SHARE`'s share of what is left of the rate, so it shrinks as the count nears the rate
    and is none there: the refusal itself is as exact as without leases.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._leases: dict[str, list[float]] = {}  # key: [requests left, requests owed, until]
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """None: this request is let through on the lease (and owed). Otherwise the number of
        requests owed so far, which the caller counts along with this one."""
        now = time.monotonic()
        with self._lock:
            lease = self._leases.get(key)
            if lease is None:
                return 0
            if lease[0] >= 1 and now < lease[2]:
                lease[0] -= 1
                lease[1] += 1
                return None
            del self._leases[key]
            return int(lease[1])

    def grant(self, key: str, requests: int, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            held = self._leases.get(key)
            if held is not None:
                # Another thread of this process counted a request of this key meanwhile and holds
                # a lease: what it owes stays owed, and the smaller of the two is what is left.
                held[0] = min(held[0], max(requests, 0))
                return
            if requests < 1:
                return
            if len(self._leases) >= self.size:
                self._prune(now)
            self._leases[key] = [requests, 0, now + seconds]

    def _prune(self, now: float) -> None:
        """Full: drop the expired leases (each owes at most a lease, left uncounted), and
        everything if every lease is still running."""
        for key in [key for key, lease in self._leases.items() if lease[2] <= now]:
            del self._leases[key]
        if len(self._leases) >= self.size:
            self._leases.clear()

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


leases = Leases(LEASES_MAX)


class CounterThrottle(throttling.SimpleRateThrottle):
    """A counter per key and window instead of DRF's list of request times.

    DRF's throttles read the key's whole history, drop what has aged out, append now and write the
    list back: two cache round trips, each pickling up to `num_requests` floats (600 for the user
    rate), on every request. Here one request costs one `incr` (an atomic script on Redis); a new
    window costs one `add` as well. The window opens at the key's first request and lasts the rate's
    duration, so a client gets at most twice the rate across two back-to-back windows: for abuse
    limits that slack is accepted, for what it saves on every request.

    A throttle with a `lease_size` (the general per-user and per-address rates, which every request
    pays) asks the cache about once per lease instead (`Leases`); the others (logins, check-ins,
    codes, attempts) count every request at once.
    """

    # Set from the rate by SimpleRateThrottle.__init__ (parse_rate); the stubs do not declare them.
    num_requests: int
    duration: int
    lease_size = 0

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        owed = 0
        if self.lease_size:
            taken = leases.take(self.key)
            if taken is None:
                return True
            owed = taken
        count = self._hit(self.key, 1 + owed)
        # None: the cache is down (django-redis with IGNORE_EXCEPTIONS answers None); throttles open,
        # as the history-based throttles did on a failed read.
        if count is None:
            return True
        if count <= self.num_requests:
            if self.lease_size:
                lease = min(self.lease_size, (self.num_requests - count) // LEASE_SHARE)
                leases.grant(self.key, lease, min(self.duration, LEASE_SECONDS))
            return True
        return self.throttle_failure()

    def _hit(self, key: str, amount: int = 1) -> int | None:
        # A key of its own: under the plain key the cache may still hold a history list from DRF's
        # throttles, which `incr` cannot add to.
        key = self.counter_key = f"{key}:n"
        client = _redis_client(self.cache)
        if client is not None:
            return self._hit_redis(client, key, amount)
        try:
            return self.cache.incr(key, amount)
        except ValueError:
            pass  # no window open for this key yet
        if self.cache.add(key, amount, self.duration):
            return amount
        # Another process opened the window between the two calls.
        try:
            return self.cache.incr(key, amount)
        except ValueError:
            return None

    def _hit_redis(self, client, key: str, amount: int) -> int | None:
        """One `INCRBY` per count on the Redis client itself; an `EXPIRE` when it opens the window.

        django-redis's `incr` runs a Lua script so that it can refuse a missing key, through layers
        that cost more CPU than the command; here a missing key simply starts at 1 and gets its
        expiry. A process that dies between the two commands would leave a counter without one:
        such a counter is found, and started again, when it would refuse a request (the only
        moment its age matters). Redis down: the throttle stays open, as django-redis's
        IGNORE_EXCEPTIONS answered a failed `incr`, and the failure is logged.
        """
        full_key = client.make_key(key)
        try:
            redis = client.get_client(write=True)
            count = int(redis.incrby(full_key, amount))
            if count == amount:
                redis.expire(full_key, self.duration)
            elif count > self.num_requests and redis.ttl(full_key) == -1:
                redis.set(full_key, amount, ex=self.duration)
                count = amount
        except RedisError:
            logger.warning("throttle %s: Redis unavailable, request let through", self.scope, exc_info=True)
            return None
        return count

    def wait(self):
        ttl = getattr(self.cache, "ttl", None)  # django-redis has it; the in-memory cache does not
        try:
            remaining = ttl(self.counter_key) if ttl is not None else None
        except RedisError:  # django-redis lets a failed `ttl` through even with IGNORE_EXCEPTIONS
            remaining = None
        if isinstance(remaining, int) and remaining > 0:
            return remaining
        return self.duration


class UserRateThrottle(CounterThrottle, throttling.UserRateThrottle):
    """DRF's per-user (or, signed out, per-address) throttle on a counter; subclasses set `scope`."""


# What every request pays: a process asks Redis about once per this many requests of a client.
GENERAL_LEASE = 16


class UserThrottle(UserRateThrottle):
    """Signed-in users only: anonymous requests are counted once, by AnonThrottle."""

    scope = "user"
    lease_size = GENERAL_LEASE

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class AnonThrottle(CounterThrottle, throttling.AnonRateThrottle):
    scope = "anon"
    lease_size = GENERAL_LEASE


class WeChatCodeThrottle(CounterThrottle):
    """Per login code: a code is single-use, so hammering one code is a client bug or an attack."""

    scope = "wechat_code"

    def get_cache_key(self, request, view):
        # A body that is not an object (a JSON array) has no code to count; the view refuses it.
        data = request.data if isinstance(request.data, Mapping) else {}
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _key(code)}


class WeChatAddressThrottle(CounterThrottle):
    """Per client address, and generous: a venue's whole crowd may share one Wi-Fi address."""

    scope = "wechat_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAddressThrottle(CounterThrottle):
    """Password logins per client address (behind the configured proxies only: NUM_PROXIES)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginPhoneThrottle(CounterThrottle):
    """Password logins per account phone, wherever they come from: guessing one account's password
    from many addresses is slowed as much as from one."""

    scope = "login_phone"

    def phone_of(self, request) -> object:
        data = request.data if isinstance(request.data, Mapping) else {}
        return data.get("phone")

    def get_cache_key(self, request, view):
        phone = self.phone_of(request)
        if not isinstance(phone, str) or not phone.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _key(phone)}


class FormLoginPhoneThrottle(LoginPhoneThrottle):
    """The per-phone login count for a sign-in form, which hands over the phone as it read it."""

    def __init__(self, phone: str | None) -> None:
        super().__init__()
        self.phone = phone

    def phone_of(self, request) -> object:
        return self.phone
