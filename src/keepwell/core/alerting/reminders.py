"""Reminders (renotify) and escalations (unacknowledged): outbox rows for findings that stay open."""

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import AlertEvent, Finding, RoutingRule
from ..models.findings import State
from . import timing


def schedule_reminders(now=None) -> int:
    """Add outbox rows for due reminders and escalations; return how many were added."""
    now = now or timezone.now()
    added = 0
    rules = RoutingRule.objects.filter(enabled=True).filter(Q(renotify_every__gt=0) | Q(escalate_after__gt=0))
    for rule in rules.prefetch_related("escalation_channels"):
        base = Finding.objects.filter(
            organization_id=rule.organization_id, state=State.OPEN, severity__in=rule.severities()
        )
        if rule.service_id:
            base = base.filter(service_id=rule.service_id)
        rows = []
        if rule.renotify_every:
            cutoff = now - timedelta(seconds=rule.renotify_every)
            recent = AlertEvent.objects.filter(
                finding=OuterRef("pk"), rule=rule, event="renotify", created__gt=cutoff
            )
            due = (
                base.filter(opened_at__lte=cutoff)
                .filter(Q(snoozed_until=None) | Q(snoozed_until__lte=now))
                .exclude(Exists(recent))
                .only("pk", "opened_at")
            )
            for f in due:
                slot = timing.reminder_slot(now, f.opened_at, rule.renotify_every)
                dedupe = f"{int(f.opened_at.timestamp())}:{slot}"
                rows.append(
                    AlertEvent(finding_id=f.pk, rule=rule, event="renotify", dedupe=dedupe, created=now)
                )
        if rule.escalate_after and rule.escalation_channels.all():
            done = AlertEvent.objects.filter(
                finding=OuterRef("pk"), rule=rule, event="unacknowledged", created__gte=OuterRef("opened_at")
            )
            due = (
                base.filter(opened_at__lte=now - timedelta(seconds=rule.escalate_after))
                .exclude(Exists(done))
                .only("pk", "opened_at")
            )
            for f in due:
                dedupe = str(int(f.opened_at.timestamp()))
                rows.append(
                    AlertEvent(finding_id=f.pk, rule=rule, event="unacknowledged", dedupe=dedupe, created=now)
                )
        if rows:
            # The unique (finding, rule, event, dedupe) makes a second worker's rows no-ops.
            AlertEvent.objects.bulk_create(rows, ignore_conflicts=True)
            added += len(rows)
    return added
