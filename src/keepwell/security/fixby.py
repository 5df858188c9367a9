"""The fix-by policy: how long a security problem of each severity may stay open, and what overdue means.

Pure: no Django import. The days per severity come from settings (KEEPWELL_FIX_BY_*_DAYS).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

SEVERITIES = ("critical", "high", "medium", "low")
DEFAULT_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180}
# Words other tools use for the same levels; "unknown" (no CVSS score) is treated as medium.
ALIASES = {"moderate": "medium", "important": "high", "unknown": "medium", "none": "low", "info": "low",
           "warning": "medium"}  # fmt: skip
# A security severity as a core finding severity (core knows info, warning, critical).
CORE_SEVERITY = {"critical": "critical", "high": "critical", "medium": "warning", "low": "info"}


def normalize(severity: str) -> str:
    """Return the policy's name for `severity` (critical, high, medium, low); raise ValueError if unknown."""
    name = str(severity or "").strip().lower()
    name = ALIASES.get(name, name)
    if name not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)} (or unknown), not {severity!r}")
    return name


@dataclass(frozen=True)
class Deadline:
    severity: str  # critical, high, medium, low
    first_seen: datetime
    fix_by: datetime

    def overdue(self, now: datetime) -> bool:
        return now >= self.fix_by

    def days_left(self, now: datetime) -> int:
        """Return whole days until the fix-by date (negative once overdue)."""
        return (self.fix_by - now) // timedelta(days=1)

    def core_severity(self, now: datetime) -> str:
        """Return the core finding severity: critical once overdue, else the severity's own level."""
        return "critical" if self.overdue(now) else CORE_SEVERITY[self.severity]

    def describe(self, now: datetime) -> str:
        """Return one line about the deadline, e.g. "Fix by 2030-01-08 (7 days for critical severity)."."""
        days = (self.fix_by - self.first_seen).days
        date = f"{self.fix_by:%Y-%m-%d}"
        if self.overdue(now):
            late = (now - self.fix_by).days
            return (
                f"Overdue since {date} ({late} day{'s' if late != 1 else ''} late; the policy gives "
                f"{days} days for {self.severity} severity). Escalated to critical."
            )
        return f"Fix by {date} ({days} days for {self.severity} severity, first seen {self.first_seen:%Y-%m-%d})."


def deadline(severity: str, first_seen: datetime, days: dict[str, int] | None = None) -> Deadline:
    """Return the deadline of a problem of `severity` first seen at `first_seen` under the policy `days`."""
    name = normalize(severity)
    policy = {**DEFAULT_DAYS, **(days or {})}
    return Deadline(name, first_seen, first_seen + timedelta(days=max(0, int(policy[name]))))
