"""Claim due checks and complete them, so that several probers share the work with no check run twice.

A claim marks due monitors with the prober's name and a lease deadline in one transaction (on PostgreSQL
the candidates are locked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent probers take different rows;
on SQLite the immediate transaction serializes claims), and the UPDATE itself repeats the "lease is free"
condition. A prober that dies keeps its leases only until the deadline; then another one claims them.

The hub's own probers work at the location "local" and use the schedule on Monitor itself; a remote prober's
location has its own schedule and lease per monitor in ProberLease rows, created on its first claim.
"""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Monitor, ProberLease
from . import scheduler
from .wire import Assignment, Outcome

log = logging.getLogger(__name__)

LOCAL = "local"
MAX_ERROR = 500  # CheckResult.error's length


def _free(now):
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def _lock(queryset):
    # PostgreSQL: lock the candidates and skip rows another prober is claiming right now. SQLite has no
    # row locks; there the transaction (BEGIN IMMEDIATE) already excludes every other writer.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def claim(
    owner: str,
    *,
    location: str = LOCAL,
    organization=None,
    limit: int = 500,
    horizon: float = 2.0,
    now: datetime | None = None,
) -> list[Assignment]:
    """Lease up to `limit` checks due within `horizon` seconds to `owner`; return them, earliest first."""
    now = now or timezone.now()
    due_by = now + timedelta(seconds=horizon)
    if location == LOCAL:
        candidates = Monitor.objects.filter(paused=False, next_check_at__lte=due_by).filter(_free(now))
        if organization is not None:
            candidates = candidates.filter(organization=organization)
        model = Monitor
    else:
        if organization is None:
            raise ValueError("a remote location's checks are claimed for one organization")
        _add_location(location, organization, now)
        candidates = ProberLease.objects.filter(
            location=location,
            monitor__organization=organization,
            monitor__paused=False,
            next_check_at__lte=due_by,
        ).filter(_free(now))
        model = ProberLease
    with transaction.atomic():
        rows = list(_lock(candidates.order_by("next_check_at")).values_list("id", "next_check_at")[:limit])
        if not rows:
            return []
        ids = [pk for pk, _ in rows]
        # One deadline for the batch, so that the rows this call won can be read back exactly.
        until = scheduler.lease_until(max(max(due for _, due in rows), now), _longest_timeout(model, ids))
        model.objects.filter(id__in=ids).filter(_free(now)).update(lease_owner=owner, lease_until=until)
        won = model.objects.filter(id__in=ids, lease_owner=owner, lease_until=until)
        if model is ProberLease:
            return sorted(
                (_assignment(lease.monitor, lease.next_check_at) for lease in won.select_related("monitor")),
                key=lambda a: a.due,
            )
        return sorted((_assignment(m, m.next_check_at) for m in won), key=lambda a: a.due)


def _hold(queryset):
    if connection.features.has_select_for_update:
        return queryset.order_by("pk").select_for_update(of=("self",))
    return queryset


def _longest_timeout(model, ids) -> float:
    monitors = (
        Monitor.objects.filter(id__in=ids)
        if model is Monitor
        else Monitor.objects.filter(location_leases__id__in=ids)
    )
    return float(max(monitors.values_list("timeout", flat=True), default=10))


def _assignment(monitor, due) -> Assignment:
    return Assignment(
        id=monitor.id,
        kind=monitor.kind,
        target=monitor.target,
        config=monitor.config or {},
        timeout=float(monitor.timeout),
        interval=monitor.interval,
        due=due,
    )


def _add_location(location: str, organization, now: datetime) -> None:
    """Give every monitor of `organization` a schedule at `location` if it has none yet."""
    missing = (
        Monitor.objects.filter(organization=organization)
        .exclude(location_leases__location=location)
        .values_list("id", "interval")
    )
    rows = [
        ProberLease(monitor_id=pk, location=location, next_check_at=scheduler.first_check(now, interval))
        for pk, interval in missing
    ]
    if rows:
        ProberLease.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)


def complete(
    owner: str,
    outcomes: list[Outcome],
    *,
    location: str = LOCAL,
    organization=None,
    now: datetime | None = None,
) -> int:
    """Record the outcomes of checks `owner` holds leases for, schedule the next ones; return how many."""
    from ..state import record_result

    if not outcomes:
        return 0
    now = now or timezone.now()
    by_id = {o.id: o for o in outcomes}
    recorded, done = 0, []
    with transaction.atomic():
        # Lock what we hold (PostgreSQL) so that nobody re-leases it between this read and the update below.
        if location == LOCAL:
            held = Monitor.objects.filter(id__in=by_id, lease_owner=owner)
            if organization is not None:
                held = held.filter(organization=organization)
            monitors = {m.id: m for m in _hold(held)}
            leases = {}
        else:
            held = ProberLease.objects.filter(
                location=location, monitor_id__in=by_id, monitor__organization=organization, lease_owner=owner
            ).select_related("monitor")
            leases = {lease.monitor_id: lease for lease in _hold(held)}
            monitors = {pk: lease.monitor for pk, lease in leases.items()}
        for pk, monitor in monitors.items():
            outcome = by_id[pk]
            local_schedule = monitor.next_check_at
            try:
                with transaction.atomic():
                    record_result(
                        monitor,
                        ok=outcome.ok,
                        latency_ms=outcome.latency_ms,
                        status_code=outcome.status_code,
                        error=(outcome.error or "")[:MAX_ERROR],
                        location=location,
                        at=outcome.started,
                    )
            except Exception:
                # One monitor's bad row must not lose the batch: log it, and check it again on schedule.
                log.exception("could not record the check of monitor %s", pk)
            else:
                recorded += 1
            # The stored schedule is the due time: the hub, not a prober's clock, keeps the interval.
            due = local_schedule if location == LOCAL else leases[pk].next_check_at
            nxt = scheduler.next_check(due, min(outcome.started, now), monitor.interval)
            done.append((nxt, pk if location == LOCAL else leases[pk].pk))
            if location != LOCAL:
                # A remote result does not move the hub's own schedule of the monitor.
                Monitor.objects.filter(pk=pk).exclude(next_check_at=local_schedule).update(
                    next_check_at=local_schedule
                )
        # One statement for the batch: the rows are still ours (locked above; on SQLite the write transaction
        # excludes every other writer until the commit).
        _reschedule(Monitor if location == LOCAL else ProberLease, done)
    return recorded


def _reschedule(model, rows: list[tuple[datetime, int]]) -> None:
    """Set each (next check time, primary key) row's next check and free its lease, in one statement."""
    if not rows:
        return
    # executemany of one plain UPDATE: Django's bulk_update builds a CASE expression per row, which cost more
    # CPU than the check itself.
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET next_check_at = %s, lease_owner = '', lease_until = NULL WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(adapt(nxt), pk) for nxt, pk in rows])


def release(owner: str, ids: list[int], *, location: str = LOCAL, organization=None) -> int:
    """Give back leases on checks `owner` claimed but will not run (it is stopping); return how many."""
    if not ids:
        return 0
    if location == LOCAL:
        rows = Monitor.objects.filter(id__in=ids, lease_owner=owner)
        if organization is not None:
            rows = rows.filter(organization=organization)
    else:
        rows = ProberLease.objects.filter(
            location=location, monitor_id__in=ids, monitor__organization=organization, lease_owner=owner
        )
    return rows.update(lease_owner="", lease_until=None)
