"""Alerting history: finished notifications and their delivery log are pruned after the retention age."""

from datetime import timedelta

from django.utils import timezone

from keepwell.core import findings
from keepwell.core.alerting.retention import prune_history
from keepwell.core.models import AlertEvent, Channel, Delivery, Notification
from keepwell.core.tasks import prune_alerting_history


def notification(channel, status, age_days):
    created = timezone.now() - timedelta(days=age_days)
    note = Notification.objects.create(
        organization=channel.organization,
        channel=channel,
        event="opened",
        subject="s",
        body="b",
        status=status,
    )
    Notification.objects.filter(pk=note.pk).update(created=created)
    Delivery.objects.create(notification=note, ok=status == "sent", attempted_at=created)
    return note


def test_it_deletes_finished_notifications_past_the_retention_age_and_keeps_the_rest(acme, service, settings):
    settings.ALERT_RETENTION_DAYS = 30
    channel = Channel.objects.create(organization=acme, name="hook", kind="webhook", target="http://x.test/")
    old = [notification(channel, status, 31) for status in ("sent", "failed", "cancelled")]
    waiting = [notification(channel, status, 31) for status in ("pending", "held")]
    recent = notification(channel, "sent", 29)
    finding = findings.raise_finding(service, source="monitoring", key="m:1", title="down")
    routed_old = AlertEvent.objects.create(
        finding=finding, event="opened", routed_at=timezone.now() - timedelta(days=31)
    )
    unrouted_old = AlertEvent.objects.create(
        finding=finding, event="opened", created=timezone.now() - timedelta(days=40)
    )

    counts = prune_history()

    assert counts == {"notifications": 3, "deliveries": 3, "events": 1}
    assert not Notification.objects.filter(pk__in=[n.pk for n in old]).exists()
    assert set(Notification.objects.values_list("pk", flat=True)) == {n.pk for n in [*waiting, recent]}
    assert Delivery.objects.count() == 3
    assert not AlertEvent.objects.filter(pk=routed_old.pk).exists()
    assert AlertEvent.objects.filter(pk=unrouted_old.pk).exists()
    assert findings.Finding.objects.filter(pk=finding.pk).exists()


def test_the_nightly_job_prunes(acme, settings):
    settings.ALERT_RETENTION_DAYS = 1
    channel = Channel.objects.create(organization=acme, name="hook", kind="webhook", target="http://x.test/")
    notification(channel, "sent", 2)
    prune_alerting_history.call_local()
    assert not Notification.objects.exists()
