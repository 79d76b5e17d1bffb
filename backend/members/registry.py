"""What apps above members tell it, without members importing them.

- `report_lines["line"](person, period, label=...)`: a party member's own line of the 双报告 for a
  period (`backend.core.periods.Period`), as the API writes it, computed from what `members/me/`
  has read of them (`selectors.own.OwnPerson`: the member, registrations and posts), which it
  does not read again. The reports app registers it; `members/me/` shows it. With nothing
  registered, `me` shows no line; someone who is not a party member has none.
- `membership_ended[app](user_id=..., by=...)`: called inside the transaction that ends an
  approved registration (withdrawn or revoked), once the membership it made is gone, so each app
  ends what membership conferred there (activities: pending leave for meetings no longer theirs).
"""

from typing import TYPE_CHECKING, Any, Protocol

from backend.core.periods import Period
from backend.core.registry import Registry

if TYPE_CHECKING:
    from backend.accounts.models import User

    from .selectors.own import OwnPerson


class ReportLine(Protocol):
    def __call__(self, person: "OwnPerson", period: Period, *, label: str = "") -> dict[str, Any]: ...


report_lines: Registry[ReportLine] = Registry("member report line")


class MembershipEnded(Protocol):
    def __call__(self, *, user_id: int, by: "User") -> object: ...


membership_ended: Registry[MembershipEnded] = Registry("membership ended")
