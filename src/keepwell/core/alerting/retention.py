"""Alerting history is kept for a while, not for ever: old notifications, their deliveries and routed events."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from keepwell.core.models import AlertEvent, Notification

FINAL = [Notification.Status.SENT, Notification.Status.FAILED, Notification.Status.CANCELLED]


def prune_history(now=None) -> dict:
    """Delete finished notifications (with their delivery log) and routed outbox rows past the retention age."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ALERT_RETENTION_DAYS)
    # Notifications still waiting (grouping, pending, held) are kept whatever their age: they are work.
    notifications, by_model = Notification.objects.filter(status__in=FINAL, created__lt=cutoff).delete()
    events, _ = AlertEvent.objects.filter(routed_at__lt=cutoff).delete()
    return {
        "notifications": by_model.get(Notification._meta.label, 0),
        "deliveries": by_model.get("core.Delivery", 0),
        "events": events,
    }
