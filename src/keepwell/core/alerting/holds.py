"""What may hold a message back or make it pointless: maintenance windows, snoozes, quiet hours."""

from dataclasses import dataclass
from datetime import datetime

from ..models import MaintenanceWindow, Notification
from ..models.findings import State
from . import timing
from .messages import PROBLEM_EVENTS

Status = Notification.Status
DROP = "drop"


@dataclass(frozen=True)
class Hold:
    until: datetime
    reason: str


class Holds:
    """Maintenance windows of the organizations in one pass, read once."""

    def __init__(self, now):
        self.now = now
        self._by_org = {}

    def _windows(self, org_id):
        if org_id not in self._by_org:
            self._by_org[org_id] = list(
                MaintenanceWindow.objects.filter(organization_id=org_id, starts_at__lte=self.now)
            )
        return self._by_org[org_id]

    def maintenance(self, finding) -> Hold | None:
        best = None
        for window in self._windows(finding.organization_id):
            if window.service_id not in (None, finding.service_id):
                continue
            occ = window.occurrence(self.now)
            if occ and (best is None or occ[1] > best.until):
                best = Hold(occ[1], f"maintenance: {window.title}"[:200])
        return best


def _was_told(finding, channel_id) -> bool:
    """Return True when the channel got (or is getting) a problem message about this episode."""
    return Notification.objects.filter(
        channel_id=channel_id,
        findings=finding.pk,
        event__in=PROBLEM_EVENTS,
        status__in=[Status.SENT, Status.PENDING],
        created__gte=finding.opened_at,
    ).exists()


def classify(event: str, finding, channel_id: int, holds: Holds):
    """Return DROP, a Hold, or None (send) for telling `channel_id` about `event` on `finding` now."""
    if event == "resolved":
        if finding.state != State.RESOLVED or not _was_told(finding, channel_id):
            return DROP
    elif event in ("renotify", "unacknowledged"):
        if finding.state != State.OPEN:
            return DROP
    elif finding.state == State.RESOLVED:
        return DROP
    hold = holds.maintenance(finding)
    if event != "resolved" and finding.snoozed_until and finding.snoozed_until > holds.now:
        if hold is None or finding.snoozed_until > hold.until:
            hold = Hold(finding.snoozed_until, "snoozed")
    return hold


def quiet_hold(rule, findings, now) -> Hold | None:
    """Return the hold for a message of `rule` about `findings` during quiet hours, or None to send."""
    if rule is None or any(f.severity == "critical" for f in findings):
        return None  # critical findings go through quiet hours
    until = rule.quiet_until(now)
    if until is None:
        return None
    return Hold(
        until,
        f"quiet hours until {until.astimezone(timing.zone(rule.quiet_timezone)):%H:%M} {rule.quiet_timezone}",
    )
