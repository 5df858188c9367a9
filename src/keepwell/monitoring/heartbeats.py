"""What a heartbeat does: take a ping durably, go down when late, pause and resume, raise and resolve findings.

A ping is one short transaction: lock the heartbeat row, insert the ping, update the heartbeat with a
queryset update (no audit row, no pre-save read). It is committed before the view answers, so an answered
ping survives a restart or a kill -9 of the server. Findings are raised only on a change to or from "down".
"""

import uuid as uuid_module
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from keepwell.core.findings import raise_finding, resolve_finding

from . import schedules
from .models import Heartbeat, Ping

Status = Heartbeat.Status
SOURCE = "monitoring"


def finding_key(heartbeat) -> str:
    return f"heartbeat:{heartbeat.uuid}"


def _deadline(heartbeat, status: str) -> datetime | None:
    return schedules.going_down_after(
        status,
        kind=heartbeat.kind,
        last_ping=heartbeat.last_ping,
        last_start=heartbeat.last_start,
        period=heartbeat.period,
        grace=heartbeat.grace,
        schedule=heartbeat.schedule,
        tz=heartbeat.tz,
    )


def _went_down(heartbeat, reason: str) -> None:
    raise_finding(
        heartbeat.service,
        source=SOURCE,
        key=finding_key(heartbeat),
        title=f"Heartbeat {heartbeat.name} is down: {reason}",
        severity="critical",
        detail=(
            f"The job that pings {heartbeat.ping_url} {reason}. Check the job (cron, timer, backup tool) "
            "and its log; the heartbeat is up again at its next success ping."
        ),
        url=heartbeat.get_absolute_url(),
    )


def _came_up(heartbeat) -> None:
    resolve_finding(
        heartbeat.service, source=SOURCE, key=finding_key(heartbeat), note="a success ping arrived"
    )


def record_ping(
    heartbeat_id: int,
    *,
    kind: str,
    exit_status: int | None = None,
    rid: uuid_module.UUID | None = None,
    method: str = "",
    remote_addr: str | None = None,
    user_agent: str = "",
    body: bytes = b"",
    body_truncated: bool = False,
    now: datetime | None = None,
) -> Ping:
    """Store one ping and apply it to the heartbeat's status; committed when this returns."""
    now = now or timezone.now()
    with transaction.atomic():
        hb = Heartbeat.objects.select_for_update(of=("self",)).get(pk=heartbeat_id)
        rid_start = None
        if rid is not None:
            rid_start = (
                Ping.objects.filter(heartbeat=hb, kind=Ping.Kind.START, rid=rid)
                .order_by("-n")
                .values_list("created", flat=True)
                .first()
            )
        effect = schedules.apply_ping(
            ping_kind=kind,
            exit_status=exit_status,
            now=now,
            status=hb.status,
            kind=hb.kind,
            period=hb.period,
            grace=hb.grace,
            schedule=hb.schedule,
            tz=hb.tz,
            last_ping=hb.last_ping,
            last_start=hb.last_start,
            alert_after=hb.alert_after,
            rid_given=rid is not None,
            rid_start=rid_start,
        )
        ping = Ping.objects.create(
            heartbeat=hb,
            n=hb.n_pings + 1,
            created=now,
            kind=effect.kind,
            exit_status=exit_status,
            rid=rid,
            duration=effect.duration,
            method=method[:10],
            remote_addr=remote_addr,
            user_agent=user_agent[:200],
            body=body,
            body_truncated=body_truncated,
        )
        changes = {
            "n_pings": hb.n_pings + 1,
            "status": effect.status,
            "last_ping": effect.last_ping,
            "last_start": effect.last_start,
            "alert_after": effect.alert_after,
        }
        if effect.duration is not None:
            changes["last_duration"] = effect.duration
        Heartbeat.objects.filter(pk=hb.pk).update(**changes)
        for field, value in changes.items():
            setattr(hb, field, value)
        if effect.went_down:
            code = f" with exit status {exit_status}" if exit_status is not None else ""
            _went_down(hb, f"its job reported a failure{code}")
        elif effect.came_up:
            _came_up(hb)
    ping.alert_after = hb.alert_after  # for the caller: when to look again
    return ping


def mark_late_down(now: datetime | None = None, limit: int = 1000) -> int:
    """Mark every heartbeat whose deadline has passed as down; return how many went down."""
    now = now or timezone.now()
    late = list(
        Heartbeat.objects.filter(status__in=[Status.UP, Status.STARTED], alert_after__lte=now)
        .select_related("service", "organization")
        .order_by("alert_after")[:limit]
    )
    return sum(mark_down(hb) for hb in late)


def mark_down(hb) -> bool:
    """Mark a late heartbeat down, unless a ping moved it since it was read; return True if it went down."""
    with transaction.atomic():
        # Only if the deadline read is still the one stored: a ping that landed meanwhile wins.
        changed = Heartbeat.objects.filter(pk=hb.pk, status=hb.status, alert_after=hb.alert_after).update(
            status=Status.DOWN, alert_after=None
        )
        if not changed:
            return False
        if hb.status == Status.STARTED:
            started = f"{hb.last_start:%Y-%m-%d %H:%M} UTC"
            reason = f"its run started at {started} has not finished within the grace time"
        else:
            reason = "its ping is late past the grace time"
        _went_down(hb, reason)
        return True


def next_deadline():
    """Return the earliest moment a heartbeat goes down, or None."""
    from django.db.models import Min

    return Heartbeat.objects.filter(status__in=[Status.UP, Status.STARTED]).aggregate(at=Min("alert_after"))[
        "at"
    ]


def pause(heartbeat) -> None:
    """Pause a heartbeat: no alerts until it is resumed or pinged; an open finding is resolved."""
    with transaction.atomic():
        Heartbeat.objects.filter(pk=heartbeat.pk).update(status=Status.PAUSED, alert_after=None)
        resolve_finding(heartbeat.service, source=SOURCE, key=finding_key(heartbeat), note="heartbeat paused")
    heartbeat.status, heartbeat.alert_after = Status.PAUSED, None


def resume(heartbeat) -> None:
    """Resume a paused heartbeat: it waits, as a new one does, for its next ping."""
    Heartbeat.objects.filter(pk=heartbeat.pk, status=Status.PAUSED).update(
        status=Status.NEW, alert_after=None
    )
    heartbeat.refresh_from_db()


def reschedule(heartbeat) -> None:
    """Recompute the deadline after the schedule, period or grace changed."""
    heartbeat.alert_after = _deadline(heartbeat, heartbeat.status)
    Heartbeat.objects.filter(pk=heartbeat.pk).update(alert_after=heartbeat.alert_after)
