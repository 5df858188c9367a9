"""Security findings with fix-by dates: the one contract the security app's checks report through.

    report(service, key="vuln:GHSA-xxxx", title="django 4.2.0: GHSA-xxxx (SQL injection)",
           severity="high", first_seen=row.first_seen, url="/o/acme/security/services/shop-api/")
    clear(service, key="vuln:GHSA-xxxx")

`severity` is a security severity (critical, high, medium, low, or unknown, treated as medium). The core
finding's detail carries the fix-by date; once a finding is overdue it becomes critical and says since when
(`escalate_overdue` runs every hour, and `report` applies it at once).
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keepwell.core.findings import raise_finding, resolve_finding
from keepwell.core.models import Finding
from keepwell.core.models.findings import State

from . import fixby
from .models import FixDeadline

SOURCE = "security"


def _policy() -> dict[str, int]:
    return getattr(settings, "FIX_BY_DAYS", fixby.DEFAULT_DAYS)


def _detail(deadline: fixby.Deadline, detail: str, now) -> str:
    line = deadline.describe(now)
    return f"{line}\n\n{detail}".strip() if detail else line


def report(service, *, key, title, severity, first_seen=None, url="", detail="") -> Finding:
    """Raise (or refresh) the security finding `key` with the fix-by date its severity and age give."""
    now = timezone.now()
    name = fixby.normalize(severity)
    with transaction.atomic():
        row = FixDeadline.objects.select_for_update().filter(service=service, key=key).first()
        # The clock starts when the problem was first seen; a later report never restarts it.
        start = min(d for d in (first_seen, row.first_seen if row else None, now) if d is not None)
        deadline = fixby.deadline(name, start, _policy())
        overdue = deadline.overdue(now)
        values = {
            "organization_id": service.organization_id,
            "title": title[:300],
            "url": url[:500],
            "severity": name,
            "first_seen": start,
            "fix_by": deadline.fix_by,
        }
        if row is None:
            row = FixDeadline.objects.create(service=service, key=key, **values)
        else:
            for field, value in values.items():
                setattr(row, field, value)
        row.escalated_at = (row.escalated_at or now) if overdue else None
        row.save()
        return raise_finding(
            service,
            source=SOURCE,
            key=key,
            title=(f"Overdue: {title}" if overdue else title)[:300],
            severity=deadline.core_severity(now),
            detail=_detail(deadline, detail, now),
            url=url,
        )


def clear(service, *, key) -> Finding | None:
    """Resolve the security finding `key` (fixed, accepted or not affected) and forget its deadline."""
    FixDeadline.objects.filter(service=service, key=key).delete()
    return resolve_finding(service, source=SOURCE, key=key)


def deadline_of(service, key) -> FixDeadline | None:
    return FixDeadline.objects.filter(service=service, key=key).first()


def escalate_overdue(now=None) -> int:
    """Escalate to critical every open security finding past its fix-by date; return how many changed."""
    now = now or timezone.now()
    escalated = 0
    due = FixDeadline.objects.filter(fix_by__lte=now, escalated_at__isnull=True).select_related("service")
    for row in due.iterator():
        finding = Finding.objects.filter(service=row.service, source=SOURCE, key=row.key).first()
        if finding is None or finding.state == State.RESOLVED:
            row.delete()  # fixed outside the contract (resolved by hand): nothing is overdue
            continue
        deadline = fixby.Deadline(row.severity, row.first_seen, row.fix_by)
        previous = finding.detail.split("\n\n", 1)
        rest = previous[1] if len(previous) == 2 else ""
        raise_finding(
            row.service,
            source=SOURCE,
            key=row.key,
            title=f"Overdue: {row.title}"[:300],
            severity="critical",
            detail=_detail(deadline, rest, now),
            url=row.url,
        )
        FixDeadline.objects.filter(pk=row.pk).update(escalated_at=now)
        escalated += 1
    return escalated
