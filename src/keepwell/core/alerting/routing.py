"""From finding transitions to notifications: the outbox, routing and grouping (see holds, reminders).

1. Each recorded transition (a FindingEvent, saved where core.findings sends finding_changed) adds one
   AlertEvent row, the outbox, in the same transaction; nothing else happens inline.
2. `reminders.schedule_reminders` adds AlertEvents for reminders (renotify) and escalations (unacknowledged).
3. `route_events` claims outbox rows and files each finding, for every matching rule and channel, into a
   burst (a GROUPING notification that closes `group_window` seconds after its first finding) or, when a
   maintenance window or a snooze holds it, into a HELD notification that is due when the hold ends.
4. `release_due` closes bursts and ends holds: it drops findings that are no longer worth a message (resolved
   meanwhile), re-holds those still held, holds non-critical messages during the rule's quiet hours, and
   hands the rest to delivery as PENDING.

Every step claims its rows with a conditional UPDATE or SELECT ... FOR UPDATE SKIP LOCKED, so any number of
workers may run it at once without sending anything twice.
"""

import time
import uuid
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from ..models import AlertEvent, FindingEvent, Notification, RoutingRule
from ..models.findings import State
from .holds import DROP, Hold, Holds, classify, quiet_hold

_FINDING_FIELDS = ("state", "severity", "snoozed_until", "opened_at", "organization_id", "service_id")
_CLASSIFY_FIELDS = ("pk", *_FINDING_FIELDS)
ROUTED_EVENTS = ("opened", "reopened", "escalated", "resolved")
BATCH = 1000
OUTBOX_KEEP = timedelta(days=7)
CLAIM_LEASE = timedelta(minutes=5)  # a claim older than this belongs to a worker that died
Status = Notification.Status
Through = Notification.findings.through


@receiver(post_save, sender=FindingEvent, dispatch_uid="keepwell.alerting.outbox")
def _enqueue(sender, instance, created, raw=False, **kwargs):
    # The outbox row is written in the transaction that records the transition (the FindingEvent that
    # core.findings writes next to sending finding_changed on commit): it is never lost to a crash between
    # the commit and the signal, costs no commit of its own, and raising a finding never waits on a channel.
    if created and not raw and instance.kind in ROUTED_EVENTS:
        AlertEvent.objects.create(
            finding_id=instance.finding_id, event=instance.kind, created=instance.created
        )
        transaction.on_commit(_route_soon)


def _route_soon():
    from ..tasks import schedule_pass

    schedule_pass(time.time())


class Rules:
    """Enabled routing rules by organization and service, with their channels, read once per pass."""

    def __init__(self):
        self._by_org = {}

    def of(self, org_id, service_id):
        if org_id not in self._by_org:
            by_service = defaultdict(list)
            rules = RoutingRule.objects.filter(organization_id=org_id, enabled=True).prefetch_related(
                "channels", "escalation_channels"
            )
            for rule in rules:
                # Plain lists: .all() on a prefetched relation still builds a queryset each time.
                rule.channel_list = [c for c in rule.channels.all() if c.enabled]
                rule.escalation_list = [c for c in rule.escalation_channels.all() if c.enabled]
                by_service[rule.service_id].append(rule)
            self._by_org[org_id] = by_service
        by_service = self._by_org[org_id]
        return by_service.get(None, []) + by_service.get(service_id, [])

    def targets(self, alert: AlertEvent):
        """Yield (rule, channel) pairs that should hear about `alert`."""
        finding = alert.finding
        for rule in self.of(finding.organization_id, finding.service_id):
            if alert.rule_id and rule.pk != alert.rule_id:
                continue
            if not rule.matches(finding):
                continue
            if alert.event == "resolved" and not rule.notify_on_resolve:
                continue
            for channel in rule.escalation_list if alert.event == "unacknowledged" else rule.channel_list:
                yield rule, channel


def _file(org_id, rule_id, channel_id, event, finding_ids, due, hold: Hold | None, now) -> None:
    """Add findings to the open burst (or the held message) for (rule, channel, event), creating it."""
    status = Status.HELD if hold else Status.GROUPING
    for _attempt in range(3):
        try:
            with transaction.atomic():
                qs = Notification.objects.select_for_update().filter(
                    rule_id=rule_id, channel_id=channel_id, event=event, status=status
                )
                if hold:
                    qs = qs.filter(next_attempt_at=hold.until)
                notification = qs.first()
                if notification is None:
                    notification = Notification.objects.create(
                        organization_id=org_id,
                        rule_id=rule_id,
                        channel_id=channel_id,
                        event=event,
                        status=status,
                        next_attempt_at=hold.until if hold else due,
                        hold_reason=hold.reason if hold else "",
                        subject="",
                        body="",
                        created=now,
                    )
                Through.objects.bulk_create(
                    [Through(notification_id=notification.pk, finding_id=f) for f in finding_ids],
                    ignore_conflicts=True,
                )
                return
        except IntegrityError:
            continue  # another worker opened the same burst first: add to theirs


def _claim(now, limit):
    token = uuid.uuid4().hex
    open_rows = AlertEvent.objects.filter(routed_at=None).filter(
        Q(claimed_by="") | Q(claimed_at__lt=now - CLAIM_LEASE)
    )
    ids = list(open_rows.order_by("id").values_list("id", flat=True)[:limit])
    if not ids:
        return token, 0
    claimed = open_rows.filter(id__in=ids).update(claimed_by=token, claimed_at=now)
    return token, claimed


def route_events(now=None, limit=BATCH) -> int:
    """Route one batch of outbox rows into bursts and held messages; return how many were routed."""
    now = now or timezone.now()
    token, claimed = _claim(now, limit)
    if not claimed:
        return 0
    alerts = list(
        AlertEvent.objects.filter(claimed_by=token, routed_at=None)
        .select_related("finding")
        .only("id", "event", "rule_id", "created", *(f"finding__{f}" for f in _FINDING_FIELDS))
        .order_by("id")
    )
    rules, holds = Rules(), Holds(now)
    buckets = defaultdict(dict)  # (org, rule, channel, event, hold) -> {finding id: None}, in order
    first_seen = {}
    for alert in alerts:
        finding = alert.finding
        for rule, channel in rules.targets(alert):
            decision = classify(alert.event, finding, channel.pk, holds)
            if decision == DROP:
                continue
            key = (finding.organization_id, rule.pk, channel.pk, alert.event, decision)
            buckets[key][finding.pk] = None
            # Reminders and escalations of one pass are already together: no need to wait for more.
            window = 0 if alert.rule_id else rule.group_window
            first_seen.setdefault(key, (alert.created, window))
    # One transaction for the batch: on SQLite every transaction waits for the single write lock.
    with transaction.atomic():
        for key, finding_ids in buckets.items():
            org_id, rule_id, channel_id, event, hold = key
            created, window = first_seen[key]
            due = created + timedelta(seconds=window)
            _file(org_id, rule_id, channel_id, event, list(finding_ids), due, hold, now)
        AlertEvent.objects.filter(claimed_by=token).update(routed_at=now)
    return len(alerts)


def release(notification_id, now, holds: Holds) -> str | None:
    """Close one due burst or held message; return its new status, or None when someone else had it."""
    from .delivery import compose

    with transaction.atomic():
        n = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=notification_id, status__in=[Status.GROUPING, Status.HELD], next_attempt_at__lte=now)
            .select_related("rule", "channel", "organization")
            .first()
        )
        if n is None:
            return None
        keep, moved, dropped = [], defaultdict(list), []
        # Only what classify needs: a burst may hold thousands of findings.
        for row in n.findings.order_by("id").values(*_CLASSIFY_FIELDS):
            finding = SimpleNamespace(**row)
            decision = classify(n.event, finding, n.channel_id, holds)
            if decision == DROP:
                dropped.append(finding.pk)
            elif decision is not None:
                moved[decision].append(finding.pk)
            else:
                keep.append(finding)
        gone = dropped + [pk for ids in moved.values() for pk in ids]
        if gone:
            Through.objects.filter(notification_id=n.pk, finding_id__in=gone).delete()
        for hold, ids in moved.items():
            _file(n.organization_id, n.rule_id, n.channel_id, n.event, ids, hold.until, hold, now)
        if not keep:
            if dropped or not moved:
                n.status = Status.CANCELLED
                n.hold_reason = "Every finding in it was resolved (or acknowledged) before it was sent."
                n.subject = n.subject or f"{n.event}: nothing left to report"
                n.save(update_fields=["status", "hold_reason", "subject"])
                return n.status
            n.delete()  # everything in it is held elsewhere now
            return "moved"
        n.subject, n.body = compose(n, keep)  # loads the few findings it lists
        quiet = quiet_hold(n.rule, keep, now)
        if quiet:
            n.status, n.next_attempt_at, n.hold_reason = Status.HELD, quiet.until, quiet.reason
        else:
            n.status, n.next_attempt_at, n.hold_reason = Status.PENDING, now, ""
        n.save(update_fields=["subject", "body", "status", "next_attempt_at", "hold_reason"])
        return n.status


def release_due(now=None, limit=BATCH) -> int:
    """Close due bursts and end due holds; return how many were handled."""
    now = now or timezone.now()
    holds = Holds(now)
    due = Notification.objects.filter(
        status__in=[Status.GROUPING, Status.HELD], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")
    handled = 0
    ids = list(due.values_list("pk", flat=True)[:limit])
    for start in range(0, len(ids), 50):
        # A few at a time in one transaction: fewer waits for SQLite's write lock, short locks on PostgreSQL.
        with transaction.atomic():
            for pk in ids[start : start + 50]:
                if release(pk, now, holds) is not None:
                    handled += 1
    return handled


def prune(now=None) -> int:
    """Delete outbox rows no longer needed; return how many went."""
    now = now or timezone.now()
    # Routed transitions are only needed for a while (the delivery log keeps the story).
    old = AlertEvent.objects.filter(rule=None, routed_at__lt=now - OUTBOX_KEEP)
    # Reminder rows keep reminders and escalations once per episode: keep them while the finding is open.
    done = AlertEvent.objects.filter(rule__isnull=False, routed_at__lt=now - OUTBOX_KEEP).exclude(
        finding__state=State.OPEN
    )
    return old.delete()[0] + done.delete()[0]
