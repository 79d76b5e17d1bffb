"""Daily bounds on what an account may try, counted inside services rather than per request.

A throttle counts requests to an endpoint; some attempts are a use case that several endpoints
(and several apps) share, and only the service knows one is being made. Trying ID numbers is
one: a member registration, a volunteer's registration or profile and staff recording a paper
form all try a number, and all count towards one daily bound per account. The counter is the
throttles' own (`CounterThrottle`: one `incr` on Redis, the cache's `incr` and `add` elsewhere),
keyed by the account instead of by a request.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import DomainError, field_error
from .throttling import CounterThrottle


class _AccountCounter(CounterThrottle):
    """One scope's counter for one account; the window opens at its first attempt and lasts a day."""

    def __init__(self, scope: str, *, per_day: int, account_id: int) -> None:
        self.scope = scope
        self.rate = f"{per_day}/day"
        self.account_id = account_id
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.account_id}


def count_attempt(scope: str, *, account_id: int, per_day: int) -> None:
    """Count one attempt of the account; past `per_day` in the day it is refused with 429
    `throttled`. The cache down lets attempts through, as the throttles do."""
    if not _AccountCounter(scope, per_day=per_day, account_id=account_id).allow_request(None, None):
        raise DomainError("throttled", _("今日尝试次数过多, 请明天再试"))


def count_id_number_attempt(account_id: int) -> None:
    """An ID number is about to be looked at for this account: members and volunteers share the bound."""
    count_attempt("id_number", account_id=account_id, per_day=settings.ID_NUMBER_ATTEMPTS_PER_DAY)


def id_number_refused(field: str = "id_number") -> DomainError:
    """The answer to a well-formed ID number that cannot be recorded because it is someone else's:
    a validation error on the field that names no one and says nothing of the other account, so the
    answer is worth no more than the daily bound lets it be tried."""
    return field_error(field, _("证件号码无法登记, 请核对后重新填写"))
