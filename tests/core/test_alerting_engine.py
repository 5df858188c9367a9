"""Routing, grouping, holds, reminders and escalation, delivered to a real local webhook receiver."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.alerting import routing, run_pass
from keepwell.core.models import AlertEvent, Channel, MaintenanceWindow, Notification, RoutingRule, Service


@pytest.fixture
def raise_(django_capture_on_commit_callbacks):
    """Raise a finding the way a practice does, running the on-commit signal like a real request."""

    def do(service, key="monitor:1", severity="warning", title=None):
        with django_capture_on_commit_callbacks(execute=True):
            return findings.raise_finding(
                service, source="monitoring", key=key, title=title or f"{key} is down", severity=severity
            )

    return do


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    def do(fn, *args):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args)

    return do


@pytest.fixture
def hook(acme, webhook_receiver):
    return Channel.objects.create(
        organization=acme, name="Ops hook", kind="webhook", target=webhook_receiver.url
    )


@pytest.fixture
def rule(acme, hook):
    rule = RoutingRule.objects.create(
        organization=acme, name="Everything", min_severity="warning", group_window=30
    )
    rule.channels.add(hook)
    return rule


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def test_it_only_writes_an_outbox_row_when_a_finding_opens(service, rule, raise_, webhook_receiver):
    raise_(service)
    assert AlertEvent.objects.filter(event="opened").count() == 1
    assert Notification.objects.count() == 0
    assert webhook_receiver.requests == []


def test_it_groups_a_burst_into_one_notification(service, rule, raise_, webhook_receiver):
    raise_(service, "monitor:1", "critical")
    raise_(service, "monitor:2", "warning")
    raise_(service, "monitor:3", "critical")
    run_pass(later(1))
    assert webhook_receiver.requests == []  # the burst is still gathering
    assert Notification.objects.get().status == "grouping"
    run_pass(later(31))
    [payload] = webhook_receiver.json()
    assert payload["event"] == "opened"
    assert payload["subject"] == "3 new findings in Acme: 2 critical, 1 warning"
    assert payload["count"] == 3
    assert [f["key"] for f in payload["findings"]] == ["monitor:1", "monitor:3", "monitor:2"]
    assert Notification.objects.get().status == "sent"


def test_it_keeps_gathering_until_the_window_closes(service, rule, raise_, webhook_receiver):
    raise_(service, "monitor:1")
    run_pass(later(5))
    raise_(service, "monitor:2")
    run_pass(later(31))
    assert len(webhook_receiver.requests) == 1
    assert webhook_receiver.json()[0]["count"] == 2


def test_it_ignores_findings_below_the_rules_severity(service, rule, raise_, webhook_receiver):
    raise_(service, severity="info")
    run_pass(later(31))
    assert webhook_receiver.requests == []


def test_it_sends_a_service_rule_only_that_services_findings(acme, service, rule, raise_, webhook_receiver):
    web = Service.objects.create(organization=acme, name="Web", slug="web")
    rule.service = web
    rule.save()
    raise_(service, "monitor:1")
    raise_(web, "monitor:2")
    run_pass(later(31))
    assert [f["service"] for f in webhook_receiver.json()[0]["findings"]] == ["web"]


def test_it_reports_reopened_and_raised_severity(service, rule, raise_, act, webhook_receiver):
    f = raise_(service)
    run_pass(later(31))
    raise_(service, severity="critical")
    run_pass(later(62))
    act(findings.resolve, f)
    run_pass(later(93))
    raise_(service, severity="critical")
    run_pass(later(124))
    events = [p["event"] for p in webhook_receiver.json()]
    assert events == ["opened", "escalated", "resolved", "reopened"]


def test_it_says_nothing_of_a_resolve_that_a_recurrence_overtook(
    service, rule, raise_, act, webhook_receiver
):
    f = raise_(service)
    run_pass(later(31))
    act(findings.resolve, f)
    raise_(service)  # flapping: back before the resolve was routed
    run_pass(later(62))
    assert [p["event"] for p in webhook_receiver.json()] == ["opened", "reopened"]


def test_it_tells_of_a_resolve_only_after_the_problem_was_sent(service, rule, raise_, act, webhook_receiver):
    f = raise_(service)
    run_pass(later(31))
    act(findings.resolve, f)
    run_pass(later(62))
    payloads = webhook_receiver.json()
    assert [p["event"] for p in payloads] == ["opened", "resolved"]
    assert payloads[1]["findings"][0]["state"] == "resolved"


def test_it_stays_silent_on_resolve_when_the_rule_says_so(service, rule, raise_, act, webhook_receiver):
    rule.notify_on_resolve = False
    rule.save()
    f = raise_(service)
    run_pass(later(31))
    act(findings.resolve, f)
    run_pass(later(62))
    assert [p["event"] for p in webhook_receiver.json()] == ["opened"]


def test_it_drops_a_burst_resolved_before_it_was_sent(service, rule, raise_, act, webhook_receiver):
    f = raise_(service)
    run_pass(later(1))
    act(findings.resolve, f)
    run_pass(later(31))
    run_pass(later(62))
    assert webhook_receiver.requests == []
    assert Notification.objects.get().status == "cancelled"


def test_it_routes_nothing_for_a_finding_resolved_before_routing(
    service, rule, raise_, act, webhook_receiver
):
    f = raise_(service)
    act(findings.resolve, f)
    run_pass(later(31))
    assert (Notification.objects.count(), webhook_receiver.requests) == (0, [])


def _quiet(rule, around):
    rule.quiet_start = (around - timedelta(hours=1)).time()
    rule.quiet_end = (around + timedelta(hours=2)).time()
    rule.quiet_timezone = "UTC"
    rule.save()


def test_it_holds_non_critical_messages_in_quiet_hours(service, rule, raise_, webhook_receiver):
    _quiet(rule, timezone.now().astimezone(UTC))
    raise_(service, severity="warning")
    run_pass(later(31))
    n = Notification.objects.get()
    assert (n.status, webhook_receiver.requests) == ("held", [])
    assert n.hold_reason.startswith("quiet hours until")
    run_pass(later(2 * 3600 + 60))
    assert len(webhook_receiver.requests) == 1


def test_it_lets_critical_findings_through_quiet_hours(service, rule, raise_, webhook_receiver):
    _quiet(rule, timezone.now().astimezone(UTC))
    raise_(service, "monitor:1", severity="warning")
    raise_(service, "monitor:2", severity="critical")
    run_pass(later(31))
    assert webhook_receiver.json()[0]["count"] == 2


def test_it_holds_a_services_messages_during_maintenance(acme, service, rule, raise_, act, webhook_receiver):
    MaintenanceWindow.objects.create(
        organization=acme, service=service, title="DB upgrade", starts_at=later(-3600), ends_at=later(3600)
    )
    a = raise_(service, "monitor:1")
    b = raise_(service, "monitor:2")
    run_pass(later(31))
    assert webhook_receiver.requests == []
    held = Notification.objects.get()
    assert (held.status, held.hold_reason) == ("held", "maintenance: DB upgrade")
    assert {a.pk, b.pk} == set(held.findings.values_list("pk", flat=True))  # still recorded
    act(findings.resolve, b)
    run_pass(later(3700))
    [payload] = webhook_receiver.json()
    assert [f["key"] for f in payload["findings"]] == ["monitor:1"]  # b no longer needs an alert


def test_it_does_not_hold_other_services_during_maintenance(acme, service, rule, raise_, webhook_receiver):
    web = Service.objects.create(organization=acme, name="Web", slug="web")
    MaintenanceWindow.objects.create(
        organization=acme, service=web, title="Web deploy", starts_at=later(-60), ends_at=later(3600)
    )
    raise_(service)
    run_pass(later(31))
    assert len(webhook_receiver.requests) == 1


def test_an_organization_wide_window_holds_every_service(acme, service, rule, raise_, webhook_receiver):
    window = MaintenanceWindow.objects.create(
        organization=acme, title="Move", starts_at=later(-60), ends_at=later(600)
    )
    assert window.is_active() and not window.is_active(later(601))
    raise_(service)
    run_pass(later(31))
    assert webhook_receiver.requests == []


def test_it_holds_snoozed_findings_until_the_snooze_ends(service, rule, raise_, act, webhook_receiver):
    f = raise_(service)
    act(findings.snooze, f, later(1800))
    run_pass(later(31))
    assert webhook_receiver.requests == []
    assert Notification.objects.get().hold_reason == "snoozed"
    run_pass(later(1860))
    assert len(webhook_receiver.requests) == 1


def test_it_reminds_while_open_and_stops_once_acknowledged(service, rule, raise_, act, webhook_receiver):
    rule.renotify_every = 600
    rule.save()
    f = raise_(service)
    run_pass(later(31))
    run_pass(later(605))
    run_pass(later(610))  # the same reminder is not sent twice
    assert [p["event"] for p in webhook_receiver.json()] == ["opened", "renotify"]
    assert webhook_receiver.json()[1]["subject"].startswith("Still open (warning)")
    act(findings.acknowledge, f)
    run_pass(later(1300))
    run_pass(later(1900))
    assert len(webhook_receiver.requests) == 2


def test_it_escalates_an_unacknowledged_finding_once(acme, service, rule, raise_, webhook_receiver):
    pager = Channel.objects.create(
        organization=acme,
        name="Pager",
        kind="webhook",
        target=webhook_receiver.url.replace("/hook", "/pager"),
    )
    rule.escalation_channels.add(pager)
    rule.escalate_after = 300
    rule.save()
    raise_(service)
    run_pass(later(31))
    run_pass(later(301))
    run_pass(later(302))
    run_pass(later(900))
    paths = [r["path"] for r in webhook_receiver.requests]
    assert paths == ["/hook", "/pager"]
    assert webhook_receiver.json()[1]["event"] == "unacknowledged"


def test_it_does_not_escalate_an_acknowledged_finding(acme, service, rule, raise_, act, webhook_receiver):
    pager = Channel.objects.create(
        organization=acme, name="Pager", kind="webhook", target=webhook_receiver.url
    )
    rule.escalation_channels.add(pager)
    rule.escalate_after = 300
    rule.save()
    f = raise_(service)
    run_pass(later(31))
    act(findings.acknowledge, f)
    run_pass(later(301))
    assert len(webhook_receiver.requests) == 1


def test_it_skips_disabled_rules_and_channels(acme, service, rule, hook, raise_, webhook_receiver):
    hook.enabled = False
    hook.save()
    raise_(service, "monitor:1")
    run_pass(later(31))
    hook.enabled = True
    hook.save()
    rule.enabled = False
    rule.save()
    raise_(service, "monitor:2")
    run_pass(later(62))
    assert webhook_receiver.requests == []


def test_it_sends_each_notification_once_when_passes_repeat(service, rule, raise_, webhook_receiver):
    raise_(service)
    at = later(31)
    run_pass(at)
    run_pass(at)
    assert routing.route_events(at) == 0
    assert len(webhook_receiver.requests) == 1


def test_reminder_rows_are_unique_per_slot(service, rule, raise_):
    rule.renotify_every = 600
    rule.save()
    f = raise_(service)
    row = {"finding": f, "rule": rule, "event": "renotify", "dedupe": "x:1"}
    AlertEvent.objects.bulk_create([AlertEvent(**row), AlertEvent(**row)], ignore_conflicts=True)
    assert AlertEvent.objects.filter(event="renotify").count() == 1


def test_it_keeps_organizations_apart(acme, other_org, rule, raise_, webhook_receiver):
    theirs = Service.objects.create(organization=other_org, name="Theirs", slug="shop-api")
    raise_(theirs)
    run_pass(later(31))
    assert webhook_receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_notification(settings, service, rule, raise_, webhook_receiver):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("an in-memory SQLite test database cannot be shared by threads; runs on PostgreSQL")
    import threading

    from django.db import connection

    for i in range(20):
        raise_(service, f"monitor:{i}")
    rule.group_window = 0
    rule.save()
    at = later(31)
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        try:
            run_pass(at)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = webhook_receiver.json()
    keys = [f["key"] for p in bodies for f in p["findings"]]
    assert sorted(keys) == sorted(f"monitor:{i}" for i in range(20))  # each finding told exactly once
    assert Notification.objects.filter(status="sent").count() == len(bodies)
    assert all(b["event"] == "opened" for b in bodies)


def test_it_prunes_old_outbox_rows_but_keeps_open_reminders(service, rule, raise_, act):
    rule.renotify_every = 600
    rule.save()
    f = raise_(service)
    run_pass(later(31))
    run_pass(later(605))
    assert set(AlertEvent.objects.values_list("event", flat=True)) == {"opened", "renotify"}
    assert routing.prune(later(8 * 86400)) == 1  # the routed "opened"; the reminder's finding is open
    act(findings.resolve, f)
    run_pass(later(700))
    assert routing.prune(later(8 * 86400)) == 2
    assert AlertEvent.objects.count() == 0
