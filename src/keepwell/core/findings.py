"""The one small API practices use to report what a person should act on.

    raise_finding(service, source="monitoring", key="monitor:42", title="api.example.com is down",
                  severity="critical", url="/o/acme/monitoring/42")
    resolve_finding(service, source="monitoring", key="monitor:42")

Practices never send notifications themselves: core.alerting turns the transitions into them.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Finding, FindingEvent
from .models.findings import SEVERITY_RANK, Severity, State
from .signals import finding_changed

MAX_TITLE = 300


def _emit(finding, kind, actor=None, note=""):
    FindingEvent.objects.create(finding=finding, kind=kind, actor=actor, note=note[:300])
    transaction.on_commit(lambda: finding_changed.send(Finding, finding=finding, event=kind, actor=actor))


def raise_finding(service, *, source, key, title, severity=Severity.WARNING, detail="", url="") -> Finding:
    """Record that (service, source, key) is a problem now; open, re-open or count the finding."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"severity must be one of {', '.join(SEVERITY_RANK)}, not {severity!r}")
    title = title[:MAX_TITLE]
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                finding = (
                    Finding.objects.select_for_update()
                    .filter(service=service, source=source, key=key)
                    .first()
                )
                if finding is None:
                    finding = Finding.objects.create(
                        organization_id=service.organization_id,
                        service=service,
                        source=source,
                        key=key,
                        title=title,
                        detail=detail,
                        severity=severity,
                        url=url,
                        first_seen=now,
                        last_seen=now,
                        opened_at=now,
                    )
                    _emit(finding, FindingEvent.Kind.OPENED)
                    return finding
                event = None
                if finding.state == State.RESOLVED:
                    finding.state = State.OPEN
                    finding.opened_at = now
                    finding.acknowledged_at = finding.acknowledged_by = None
                    finding.resolved_at = finding.resolved_by = None
                    finding.snoozed_until = None
                    finding.times_reopened += 1
                    event = FindingEvent.Kind.REOPENED
                elif SEVERITY_RANK[severity] > SEVERITY_RANK[finding.severity]:
                    event = FindingEvent.Kind.ESCALATED
                finding.severity = severity
                finding.title, finding.detail = title, detail
                if url:
                    finding.url = url
                finding.last_seen = now
                finding.count += 1
                finding.save()
                if event:
                    _emit(finding, event)
                return finding
        except IntegrityError:
            # Another process created the same finding between our read and insert: count on it instead.
            continue
    raise RuntimeError(f"Could not record finding {source}:{key} for {service}")


def resolve_finding(service, *, source, key, actor=None, note="") -> Finding | None:
    """Mark (service, source, key) as no longer a problem; return the finding, or None if there was none."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().filter(service=service, source=source, key=key).first()
        if finding is None or finding.state == State.RESOLVED:
            return finding
        _resolve(finding, actor, note)
        return finding


def _resolve(finding, actor, note=""):
    finding.state = State.RESOLVED
    finding.resolved_at = timezone.now()
    finding.resolved_by = actor
    finding.snoozed_until = None
    finding.save()
    _emit(finding, FindingEvent.Kind.RESOLVED, actor, note)


def acknowledge(finding, actor=None, note="") -> bool:
    """Acknowledge an open finding (stops escalation and reminders); return False if it was not open."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.state != State.OPEN:
            return False
        finding.state = State.ACKNOWLEDGED
        finding.acknowledged_at = timezone.now()
        finding.acknowledged_by = actor
        finding.save()
        _emit(finding, FindingEvent.Kind.ACKNOWLEDGED, actor, note)
        return True


def resolve(finding, actor=None, note="") -> bool:
    """Resolve a finding by hand; return False if it was already resolved."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.state == State.RESOLVED:
            return False
        _resolve(finding, actor, note)
        return True


def snooze(finding, until, actor=None) -> bool:
    """Hold notifications about an unresolved finding until `until`; return False if it is resolved."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.state == State.RESOLVED:
            return False
        finding.snoozed_until = until
        finding.save(update_fields=["snoozed_until"])
        _emit(finding, FindingEvent.Kind.SNOOZED, actor, f"until {until.isoformat(timespec='minutes')}")
        return True
