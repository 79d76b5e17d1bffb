"""What apps above members tell it, without members importing them.

- `report_lines["line"](user, period, label=...)`: the member's own line of the 双报告 for a
  period (`backend.core.periods.Period`), or None for someone who is not a party member. The
  reports app registers it; `members/me/` shows it. With nothing registered, `me` shows no line.
"""

from backend.core.registry import Registry

report_lines = Registry("member report line")
