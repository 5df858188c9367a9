"""A monitor's history: daily uptime and latency from raw results and rollups, and the downsampling job;
a heartbeat's daily uptime, replayed from its ping log (heartbeat_history.py).

Raw results stay 7 days, hourly rollups 90 days, daily rollups for ever (see rollups.py for the arithmetic).
"""

from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from . import heartbeat_history
from .models import CheckResult, Heartbeat, Monitor, Ping, Rollup
from .rollups import Bucket, cutoffs, floor, merge, summarize
from .statuspage_state import combine_days

BATCH = 5000


def _days(days: int, now: datetime) -> list[date]:
    today = floor(now, "day").date()
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


def _since(days: int, now: datetime) -> datetime:
    return floor(now, "day") - timedelta(days=days - 1)


def daily_uptime(monitor: Monitor, days: int = 90, now=None) -> list[tuple[date, float | None]]:
    """Return (day, uptime %) for the last `days` UTC days, oldest first; None for days without checks."""
    now = now or timezone.now()
    since = _since(days, now)
    counts: dict[date, Bucket] = {}
    raw = (
        CheckResult.objects.filter(monitor=monitor, checked_at__gte=since)
        .annotate(day=TruncDay("checked_at", tzinfo=UTC))
        .values("day")
        .annotate(checks=Count("id"), failures=Count("id", filter=Q(ok=False)))
    )
    for row in raw:
        bucket = counts.setdefault(_as_date(row["day"]), Bucket())
        bucket.checks += row["checks"]
        bucket.failures += row["failures"]
    rollups = (
        Rollup.objects.filter(monitor=monitor, start__gte=since)
        .annotate(day=TruncDay("start", tzinfo=UTC))
        .values("day")
        .annotate(checks=Sum("checks"), failures=Sum("failures"))
    )
    for row in rollups:
        bucket = counts.setdefault(_as_date(row["day"]), Bucket())
        bucket.checks += row["checks"] or 0
        bucket.failures += row["failures"] or 0
    return [(day, counts[day].uptime if day in counts else None) for day in _days(days, now)]


def heartbeats_daily_uptime(
    heartbeats: list[Heartbeat], days: int = 90, now=None
) -> dict[int, list[tuple[date, float | None]]]:
    """Return {heartbeat id: [(day, uptime %)]} for the last `days` UTC days, oldest first, in one query.

    A day's uptime is the share of it the heartbeat was up, replayed from its ping log: days before its
    oldest kept ping (KEEPWELL_PING_LOG_LIMIT keeps the newest) and before its first ping are None.
    """
    now = now or timezone.now()
    day_list, since = _days(days, now), _since(days, now)
    pings: dict[int, list[tuple[datetime, str]]] = {}
    if heartbeats:
        rows = (
            Ping.objects.filter(heartbeat_id__in=[h.pk for h in heartbeats])
            .exclude(kind=Ping.Kind.LOG)
            .order_by("heartbeat_id", "n")
            .values_list("heartbeat_id", "created", "kind")
        )
        for heartbeat_id, created, kind in rows.iterator(chunk_size=BATCH):
            pings.setdefault(heartbeat_id, []).append((created, kind))
    out = {}
    for hb in heartbeats:
        replayed = heartbeat_history.replay(
            pings.get(hb.pk, ()),
            kind=hb.kind,
            period=hb.period,
            grace=hb.grace,
            schedule=hb.schedule,
            tz=hb.tz,
            status_now=hb.status,
            now=now,
            since=since,
        )
        out[hb.pk] = heartbeat_history.daily_uptime(replayed, day_list)
    return out


def components_daily_uptime(
    components, days: int = 90, now=None
) -> dict[int, list[tuple[date, float | None]]]:
    """Return {component id: [(day, uptime %)]}: the mean of its monitors' and heartbeats' days, oldest first.

    The components' monitors and heartbeats must be prefetched; each is read once, however many components
    show it.
    """
    now = now or timezone.now()
    monitors = {m.pk: m for c in components for m in c.monitors.all()}
    heartbeats = {h.pk: h for c in components for h in c.heartbeats.all()}
    monitor_days = {pk: daily_uptime(m, days=days, now=now) for pk, m in monitors.items()}
    heartbeat_days = heartbeats_daily_uptime(list(heartbeats.values()), days=days, now=now)
    out = {}
    for c in components:
        series = [monitor_days[m.pk] for m in c.monitors.all()]
        series += [heartbeat_days[h.pk] for h in c.heartbeats.all()]
        out[c.pk] = combine_days(series) if series else [(day, None) for day in _days(days, now)]
    return out


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def daily_stats(monitor: Monitor, days: int = 30, now=None) -> list[tuple[date, Bucket]]:
    """Return (day, bucket with checks, failures, latency p50/p95) for the last `days` UTC days, oldest first."""
    now = now or timezone.now()
    since = _since(days, now)
    raw: dict[date, list[tuple[bool, int | None]]] = {}
    rows = CheckResult.objects.filter(monitor=monitor, checked_at__gte=since).values_list(
        "checked_at", "ok", "latency_ms"
    )
    for checked_at, ok, latency in rows.iterator(chunk_size=BATCH):
        raw.setdefault(checked_at.astimezone(UTC).date(), []).append((ok, latency))
    parts: dict[date, list[Bucket]] = {day: [summarize(results)] for day, results in raw.items()}
    for rollup in Rollup.objects.filter(monitor=monitor, start__gte=since):
        parts.setdefault(rollup.start.astimezone(UTC).date(), []).append(_bucket(rollup))
    return [(day, merge(parts.get(day, []))) for day in _days(days, now)]


def latency_percentiles(monitor: Monitor, since, now=None) -> dict:
    """Return {"p50", "p95", "checks", "uptime"} over the checks since `since` (rollups included)."""
    now = now or timezone.now()
    values = CheckResult.objects.filter(monitor=monitor, checked_at__gte=since, checked_at__lte=now)
    buckets = [summarize(values.values_list("ok", "latency_ms").iterator(chunk_size=BATCH))]
    buckets += [_bucket(r) for r in Rollup.objects.filter(monitor=monitor, start__gte=since, start__lte=now)]
    total = merge(buckets)
    if buckets[0].checks == total.checks:
        total = buckets[0]  # raw results only: exact percentiles
    return {
        "p50": total.latency_p50,
        "p95": total.latency_p95,
        "checks": total.checks,
        "uptime": total.uptime,
    }


def _bucket(rollup: Rollup) -> Bucket:
    return Bucket(rollup.checks, rollup.failures, rollup.latency_p50, rollup.latency_p95)


def _fold(monitor_id: int, period: str, buckets: dict[datetime, Bucket]) -> None:
    """Add `buckets` to the monitor's rollups of `period`, merging with rows that exist."""
    existing = {
        r.start: r
        for r in Rollup.objects.filter(monitor_id=monitor_id, period=period, start__in=list(buckets))
    }
    new = []
    for start, bucket in buckets.items():
        row = existing.get(start)
        if row is not None:
            merged = merge([_bucket(row), bucket])
            row.checks, row.failures = merged.checks, merged.failures
            row.latency_p50, row.latency_p95 = merged.latency_p50, merged.latency_p95
            Rollup.objects.filter(pk=row.pk).update(
                checks=row.checks,
                failures=row.failures,
                latency_p50=row.latency_p50,
                latency_p95=row.latency_p95,
            )
        else:
            new.append(
                Rollup(
                    monitor_id=monitor_id,
                    period=period,
                    start=start,
                    checks=bucket.checks,
                    failures=bucket.failures,
                    latency_p50=bucket.latency_p50,
                    latency_p95=bucket.latency_p95,
                )
            )
    Rollup.objects.bulk_create(new)


def _raw_delete(queryset) -> int:
    """Delete the rows in one statement: nothing refers to results or rollups, and the audit log leaves
    them out, so the per-row signals that QuerySet.delete() would send (one query per row) are not needed."""
    return queryset._raw_delete(queryset.db)


def downsample(now=None) -> dict:
    """Fold raw results older than 7 days into hourly rollups, and hourly rollups older than 90 days into
    daily ones; safe to run again (folded rows are deleted in the same transaction). Return the counts."""
    now = now or timezone.now()
    raw_before, hourly_before = cutoffs(now)
    folded_results = folded_hours = 0
    monitor_ids = (
        CheckResult.objects.filter(checked_at__lt=raw_before)
        .order_by()  # the model's ordering would make DISTINCT see every row
        .values_list("monitor_id", flat=True)
        .distinct()
    )
    for monitor_id in list(monitor_ids):
        with transaction.atomic():
            rows = CheckResult.objects.filter(monitor_id=monitor_id, checked_at__lt=raw_before)
            hours: dict[datetime, list[tuple[bool, int | None]]] = {}
            for checked_at, ok, latency in rows.values_list("checked_at", "ok", "latency_ms").iterator(
                chunk_size=BATCH
            ):
                hours.setdefault(floor(checked_at, "hour"), []).append((ok, latency))
            _fold(monitor_id, "hour", {start: summarize(results) for start, results in hours.items()})
            folded_results += _raw_delete(rows)
    monitor_ids = (
        Rollup.objects.filter(period="hour", start__lt=hourly_before)
        .order_by()
        .values_list("monitor_id", flat=True)
        .distinct()
    )
    for monitor_id in list(monitor_ids):
        with transaction.atomic():
            rows = Rollup.objects.filter(monitor_id=monitor_id, period="hour", start__lt=hourly_before)
            days: dict[datetime, list[Bucket]] = {}
            for rollup in rows:
                days.setdefault(floor(rollup.start, "day"), []).append(_bucket(rollup))
            _fold(monitor_id, "day", {start: merge(buckets) for start, buckets in days.items()})
            folded_hours += _raw_delete(rows)
    return {"results_folded": folded_results, "hours_folded": folded_hours}
