"""What apps above members tell it, without members importing them.

- `report_lines["line"](user, period, label=...)`: the member's own line of the 双报告 for a
  period (`backend.core.periods.Period`), or None for someone who is not a party member. The
  reports app registers it; `members/me/` shows it. With nothing registered, `me` shows no line.
- `membership_ended[app](user_id=..., by=...)`: called inside the transaction that ends an
  approved registration (withdrawn or revoked), once the membership it made is gone, so each app
  ends what membership conferred there (activities: pending leave for meetings no longer theirs).
"""

from typing import TYPE_CHECKING, Any, Protocol

from backend.core.periods import Period
from backend.core.registry import Registry

if TYPE_CHECKING:
    from backend.accounts.models import User


class ReportLine(Protocol):
    def __call__(self, user: Any, period: Period, *, label: str = "") -> dict[str, Any] | None: ...


report_lines: Registry[ReportLine] = Registry("member report line")


class MembershipEnded(Protocol):
    def __call__(self, *, user_id: int, by: "User") -> object: ...


membership_ended: Registry[MembershipEnded] = Registry("membership ended")
