"""Channels, routing rules, maintenance windows and the notification log through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core.models import Channel, MaintenanceWindow, Notification, RoutingRule, Service


@pytest.fixture
def channel(acme):
    return Channel.objects.create(organization=acme, name="Ops", kind="email", target="ops@example.org")


def test_it_creates_a_channel_and_never_shows_its_target(alice_api, webhook_receiver):
    response = alice_api.post(
        "/api/v1/channels",
        {"name": "Hook", "kind": "webhook", "target": webhook_receiver.url + "?secret=s3cr3t"},
    )
    assert response.status_code == 201
    body = response.json()
    assert "target" not in body
    assert "s3cr3t" not in response.content.decode()
    assert body["target_masked"].startswith("http://")
    assert Channel.objects.get().target == webhook_receiver.url + "?secret=s3cr3t"
    assert "s3cr3t" not in alice_api.get("/api/v1/channels").content.decode()


def test_it_explains_a_bad_target(alice_api):
    response = alice_api.post("/api/v1/channels", {"name": "Hook", "kind": "webhook", "target": "ftp://x"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("target: A webhook URL starts with https://")
    assert not Channel.objects.exists()


def test_it_refuses_a_webhook_to_a_private_address(alice_api, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    response = alice_api.post(
        "/api/v1/channels", {"name": "Hook", "kind": "webhook", "target": "http://127.0.0.1/x"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("target:")


def test_it_sends_a_test_notification_to_a_real_webhook(alice_api, webhook_receiver, acme):
    channel = Channel.objects.create(
        organization=acme, name="Hook", kind="webhook", target=webhook_receiver.url
    )
    response = alice_api.post(f"/api/v1/channels/{channel.pk}/test")
    assert response.status_code == 200
    assert response.json()["status"] == "sent"
    assert len(webhook_receiver.requests) == 1
    assert Notification.objects.get().channel == channel


def test_it_reports_a_failed_test_send(alice_api, webhook_receiver, acme):
    webhook_receiver.status = 500
    channel = Channel.objects.create(
        organization=acme, name="Hook", kind="webhook", target=webhook_receiver.url
    )
    body = alice_api.post(f"/api/v1/channels/{channel.pk}/test").json()
    assert body["status"] == "failed"
    assert body["last_error"]


def test_it_changes_a_channel_but_needs_a_target_with_a_new_kind(alice_api, channel):
    assert alice_api.patch(f"/api/v1/channels/{channel.pk}", {"kind": "webhook"}).status_code == 422
    response = alice_api.patch(f"/api/v1/channels/{channel.pk}", {"name": "On call", "enabled": False})
    assert (response.json()["name"], response.json()["enabled"]) == ("On call", False)
    channel.refresh_from_db()
    assert channel.target == "ops@example.org"


def test_it_deletes_a_channel(alice_api, channel):
    assert alice_api.delete(f"/api/v1/channels/{channel.pk}").status_code == 204
    assert not Channel.objects.exists()


def test_it_creates_a_rule_with_channels_of_the_organization(alice_api, channel, service):
    response = alice_api.post(
        "/api/v1/rules",
        {
            "name": "Critical shop",
            "service": "shop-api",
            "min_severity": "critical",
            "channels": [channel.pk],
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "quiet_timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["service"], body["channels"], body["quiet_start"]) == ("shop-api", [channel.pk], "22:00:00")
    rule = RoutingRule.objects.get()
    assert list(rule.channels.all()) == [channel]


def test_it_refuses_a_rule_with_another_organizations_channel(alice_api, other_org):
    foreign = Channel.objects.create(organization=other_org, name="Theirs", kind="email")
    response = alice_api.post("/api/v1/rules", {"name": "R", "channels": [foreign.pk]})
    assert response.status_code == 422
    assert f"no channel {foreign.pk} in this organization" in response.json()["detail"]
    assert not RoutingRule.objects.exists()


def test_it_refuses_inconsistent_quiet_hours_and_escalation(alice_api, channel):
    for extra in (
        {"quiet_start": "22:00"},
        {"quiet_start": "22:00", "quiet_end": "07:00", "quiet_timezone": "Mars/Olympus"},
        {"quiet_start": "22:00+01:00", "quiet_end": "07:00"},
        {"escalate_after": 600},
    ):
        response = alice_api.post("/api/v1/rules", {"name": "R", "channels": [channel.pk], **extra})
        assert response.status_code == 422, extra
    assert not RoutingRule.objects.exists()


def test_it_patches_a_rule_keeping_what_is_not_given(alice_api, channel, acme):
    rule = RoutingRule.objects.create(organization=acme, name="All", min_severity="warning")
    rule.channels.add(channel)
    response = alice_api.patch(f"/api/v1/rules/{rule.pk}", {"min_severity": "info", "renotify_every": 3600})
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.name, rule.min_severity, rule.renotify_every) == ("All", "info", 3600)
    assert list(rule.channels.all()) == [channel]
    assert alice_api.delete(f"/api/v1/rules/{rule.pk}").status_code == 204


def test_it_creates_a_maintenance_window(alice_api, service):
    start = timezone.now() + timedelta(hours=1)
    response = alice_api.post(
        "/api/v1/maintenance",
        {
            "title": "Database upgrade",
            "service": "shop-api",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert response.status_code == 201
    assert response.json()["active"] is False
    assert MaintenanceWindow.objects.get().service == service


def test_it_refuses_a_window_that_ends_before_it_starts(alice_api):
    response = alice_api.post(
        "/api/v1/maintenance",
        {"title": "Oops", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert "ends_at must be after starts_at" in response.json()["detail"]


def test_it_patches_a_window_and_checks_the_result(alice_api, acme):
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        organization=acme, title="Patch", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    late = (now - timedelta(hours=1)).isoformat()
    assert alice_api.patch(f"/api/v1/maintenance/{window.pk}", {"ends_at": late}).status_code == 422
    assert alice_api.patch(f"/api/v1/maintenance/{window.pk}", {"recurrence": "daily"}).status_code == 200
    window.refresh_from_db()
    assert window.recurrence == "daily"


def test_it_refuses_a_window_for_another_organizations_service(alice_api, other_org):
    Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    response = alice_api.post(
        "/api/v1/maintenance",
        {
            "title": "X",
            "service": "theirs",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-01T01:00:00Z",
        },
    )
    assert response.status_code == 422
    assert not MaintenanceWindow.objects.exists()


def test_it_lists_the_notification_log(alice_api, webhook_receiver, acme, charlie_api):
    channel = Channel.objects.create(
        organization=acme, name="Hook", kind="webhook", target=webhook_receiver.url
    )
    alice_api.post(f"/api/v1/channels/{channel.pk}/test")
    body = alice_api.get(f"/api/v1/notifications?status=sent&channel={channel.pk}").json()
    assert body["count"] == 1
    assert body["items"][0]["channel"] == channel.pk
    assert charlie_api.get("/api/v1/notifications").json()["count"] == 0
