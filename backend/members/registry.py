"""What apps above members tell it, without members importing them.

- `report_lines["line"](user, period, label=...)`: the member's own line of the 双报告 for a
  period (`backend.core.periods.Period`), or None for someone who is not a party member. The
  reports app registers it; `members/me/` shows it. With nothing registered, `me` shows no line.
"""

from typing import Any, Protocol

from backend.core.periods import Period
from backend.core.registry import Registry


class ReportLine(Protocol):
    def __call__(self, user: Any, period: Period, *, label: str = "") -> dict[str, Any] | None: ...


report_lines: Registry[ReportLine] = Registry("member report line")
