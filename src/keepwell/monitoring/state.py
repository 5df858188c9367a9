"""Apply check results to monitors: store them, decide the status, raise and resolve findings.

Probers never decide a status themselves; they call `record_result`. The decision (retries, locations,
dependencies, flap damping) is the pure logic of transitions.py; this module gathers its evidence.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from keepwell.core.findings import raise_finding, resolve_finding

from .models import CheckResult, Monitor
from .transitions import DOWN, PAUSED, PENDING, UNREACHABLE, UP, Flaps, decide, flap

SOURCE = "monitoring"
MAX_ERROR = 500


def record_result(
    monitor: Monitor,
    *,
    ok: bool,
    latency_ms: int | None = None,
    status_code: int | None = None,
    error: str = "",
    location: str = "local",
    at=None,
) -> Monitor:
    """Store one check's result and move the monitor's status on; return the updated monitor."""
    at = at or timezone.now()
    with transaction.atomic():
        m = Monitor.objects.select_for_update().select_related("organization", "service").get(pk=monitor.pk)
        CheckResult.objects.create(
            monitor=m,
            checked_at=at,
            ok=ok,
            latency_ms=None if latency_ms is None else max(0, min(int(latency_ms), 2**31 - 1)),
            status_code=status_code if status_code is None or 0 <= status_code <= 32767 else None,
            error="" if ok else (error or "The check failed.")[:MAX_ERROR],
            location=(location or "local")[:100],
        )
        m.last_checked = at
        m.last_latency_ms = latency_ms if latency_ms is None else max(0, min(int(latency_ms), 2**31 - 1))
        m.last_error = "" if ok else (error or "The check failed.")[:MAX_ERROR]
        m.consecutive_failures = 0 if ok else m.consecutive_failures + 1
        m.next_check_at = at + timedelta(seconds=m.interval)
        if m.paused:
            _store(m, CHECK_FIELDS)
            _copy(m, monitor)
            return monitor
        old = m.status
        parent_down = bool(m.depends_on_id) and (
            Monitor.objects.filter(pk=m.depends_on_id, status__in=[DOWN, UNREACHABLE]).exists()
        )
        new = decide(
            old,
            by_location=_recent_by_location(m, at, location, ok),
            retries=m.retries,
            locations_required=m.locations_required,
            parent_down=parent_down,
        )
        changed = old != new and {old, new} <= {UP, DOWN}
        was_flapping = m.flapping
        flaps = flap(Flaps(m.flaps, m.flap_window_start, m.flapping), changed=changed, now=at)
        m.flaps, m.flap_window_start, m.flapping = min(flaps.count, 32767), flaps.window_start, flaps.flapping
        if new != old:
            m.status, m.status_changed_at = new, at
        _store(m, CHECK_FIELDS + STATE_FIELDS)
        _report(m, old, new, was_flapping)
        if new != old and new in (DOWN, UNREACHABLE, UP):
            _cascade(m, at)
    _copy(m, monitor)
    return monitor


CHECK_FIELDS = ("last_checked", "last_latency_ms", "last_error", "consecutive_failures", "next_check_at")
STATE_FIELDS = ("status", "status_changed_at", "flaps", "flap_window_start", "flapping")


def _store(m: Monitor, fields) -> None:
    # A queryset update, not save(): a check is the monitor's own bookkeeping, not a person's change for the
    # audit log, and it saves the signal round trips on the prober's hot path.
    Monitor.objects.filter(pk=m.pk).update(**{name: getattr(m, name) for name in fields})


def _copy(source: Monitor, target: Monitor) -> None:
    if source is not target:
        for field in source._meta.concrete_fields:
            setattr(target, field.attname, getattr(source, field.attname))


def _recent_by_location(m: Monitor, at, location: str, ok: bool) -> dict[str, list[bool]]:
    """Return each location's recent results, newest first (enough to judge retries)."""
    if max(1, m.retries) == 1 and max(1, m.locations_required) == 1:
        # One failure anywhere is enough and one success anywhere clears it: this result decides alone.
        return {location: [ok]}
    since = at - timedelta(seconds=m.interval * (max(1, m.retries) + 2) + m.timeout)
    limit = max(1, m.retries) * max(1, m.locations_required) * 4 + 10
    rows = (
        CheckResult.objects.filter(monitor=m, checked_at__gte=since, checked_at__lte=at)
        .order_by("-checked_at", "-id")
        .values_list("location", "ok")[:limit]
    )
    by_location: dict[str, list[bool]] = {}
    for location, ok in rows:
        by_location.setdefault(location, []).append(ok)
    return by_location


def _raise(m: Monitor, title: str, severity: str, detail: str) -> None:
    raise_finding(
        m.service,
        source=SOURCE,
        key=m.finding_key,
        title=title,
        severity=severity,
        detail=detail,
        url=m.get_absolute_url(),
    )


def _resolve(m: Monitor, note: str) -> None:
    resolve_finding(m.service, source=SOURCE, key=m.finding_key, note=note)


def _report(m: Monitor, old: str, new: str, was_flapping: bool) -> None:
    """Raise or resolve the monitor's one finding; a flapping monitor gets one finding, not a stream."""
    if m.flapping:
        if not was_flapping:
            _raise(
                m,
                f"{m.name} is flapping",
                "warning",
                f"{m.name} changed between up and down {m.flaps} times within an hour; further changes do "
                f"not notify until it is steady for an hour. Last error: {m.last_error or 'none'}",
            )
        return
    if was_flapping or new != old:
        if new == DOWN:
            _raise(m, f"{m.name} is down", "critical", f"{m.target}: {m.last_error}")
        elif new in (UP, UNREACHABLE):
            note = "up again" if new == UP else "unreachable: a monitor it depends on is down"
            _resolve(m, note)


def _cascade(parent: Monitor, at, seen: set[int] | None = None) -> None:
    """A parent went down (or unreachable): its down dependents, and theirs, become unreachable. It came up:
    check them again soon."""
    seen = seen if seen is not None else {parent.pk}
    dependents = Monitor.objects.filter(depends_on=parent, paused=False).select_related(
        "organization", "service"
    )
    if parent.status in (DOWN, UNREACHABLE):
        for child in dependents.filter(status=DOWN).exclude(pk__in=seen):
            seen.add(child.pk)
            child.status, child.status_changed_at = UNREACHABLE, at
            _store(child, ("status", "status_changed_at"))
            _resolve(child, f"unreachable: {parent.name}, which it depends on, is {parent.status}")
            _cascade(child, at, seen)
    else:
        dependents.filter(status=UNREACHABLE).update(next_check_at=at)


def pause(monitor: Monitor) -> Monitor:
    """Stop checking the monitor and resolve its finding."""
    with transaction.atomic():
        monitor.paused = True
        monitor.status, monitor.status_changed_at = PAUSED, timezone.now()
        monitor.lease_owner, monitor.lease_until = "", None
        monitor.save()
        _resolve(monitor, "paused")
    return monitor


def resume(monitor: Monitor) -> Monitor:
    """Check the monitor again from now on, starting from pending."""
    monitor.paused = False
    monitor.status, monitor.status_changed_at = PENDING, timezone.now()
    monitor.consecutive_failures = monitor.flaps = 0
    monitor.flapping, monitor.flap_window_start = False, None
    monitor.next_check_at = timezone.now()
    monitor.save()
    return monitor


def forget(monitor: Monitor) -> None:
    """Delete the monitor, resolving its finding first."""
    with transaction.atomic():
        _resolve(monitor, "monitor deleted")
        monitor.delete()
