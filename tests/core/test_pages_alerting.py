"""Alerting pages: channels with "Send test", routing rules, maintenance windows and the delivery log."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from keepwell.core.models import AuditEvent, Channel, MaintenanceWindow, Notification, RoutingRule

pytestmark = pytest.mark.django_db

LIST_PAGES = ["channels", "rules", "maintenance", "notifications"]


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hook(acme, webhook_receiver):
    return Channel.objects.create(
        organization=acme, name="Ops hook", kind="webhook", target=webhook_receiver.url
    )


@pytest.fixture
def paris_window(acme, service):
    return MaintenanceWindow.objects.create(
        organization=acme,
        service=service,
        title="Database upgrade",
        starts_at=datetime(2030, 1, 1, 21, tzinfo=UTC),
        ends_at=datetime(2030, 1, 1, 23, tzinfo=UTC),
        timezone="Europe/Paris",
    )


@pytest.mark.parametrize("name", LIST_PAGES)
def test_each_alerting_page_says_what_to_do_when_empty(alice_client, name):
    response = alice_client.get(reverse(name, args=["acme"]))
    assert response.status_code == 200
    assert 'class="empty"' in response.text


@pytest.mark.parametrize("name", LIST_PAGES)
def test_each_alerting_page_is_hidden_from_other_organizations(charlie_client, acme, name):
    assert charlie_client.get(reverse(name, args=["acme"])).status_code == 404


# --- Channels -------------------------------------------------------------------------------------------


def test_it_adds_a_webhook_channel_and_masks_its_target(alice_client, acme, webhook_receiver):
    secret_url = webhook_receiver.url + "?token=s3cr3t-value"
    response = alice_client.post(
        reverse("channel-new", args=["acme"]),
        {"name": "Ops", "kind": "webhook", "target": secret_url, "enabled": "on"},
    )
    assert response.status_code == 302
    channel = Channel.objects.get(organization=acme)
    assert channel.target == secret_url
    html = alice_client.get(reverse("channels", args=["acme"])).text
    assert "Ops" in html
    assert "s3cr3t-value" not in html


def test_it_explains_a_bad_target(alice_client, acme):
    response = alice_client.post(
        reverse("channel-new", args=["acme"]), {"name": "Ops", "kind": "webhook", "target": "ftp://nope"}
    )
    assert response.status_code == 200
    assert "starts with https://" in response.text
    assert not Channel.objects.exists()


def test_it_refuses_a_private_webhook_address_by_default(alice_client, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    response = alice_client.post(
        reverse("channel-new", args=["acme"]),
        {"name": "Ops", "kind": "webhook", "target": "http://127.0.0.1:9/x"},
    )
    assert response.status_code == 200
    assert 'class="errorlist"' in response.text
    assert not Channel.objects.exists()


def test_editing_a_channel_keeps_its_target_unless_replaced(alice_client, hook, webhook_receiver):
    url = reverse("channel-edit", args=["acme", hook.pk])
    page = alice_client.get(url).text
    assert webhook_receiver.url not in page  # never put back into the page
    response = alice_client.post(url, {"name": "Renamed", "kind": "webhook", "target": "", "enabled": "on"})
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.target) == ("Renamed", webhook_receiver.url)
    alice_client.post(url, {"name": "Renamed", "kind": "webhook", "target": webhook_receiver.url + "2"})
    hook.refresh_from_db()
    assert hook.target == webhook_receiver.url + "2" and not hook.enabled


def test_changing_a_channels_kind_needs_a_new_target(alice_client, hook):
    response = alice_client.post(
        reverse("channel-edit", args=["acme", hook.pk]), {"name": "Ops", "kind": "apprise", "target": ""}
    )
    assert response.status_code == 200
    assert "Enter an Apprise URL" in response.text


def test_send_test_delivers_to_the_webhook_and_says_so(alice_client, hook, webhook_receiver):
    response = alice_client.post(
        reverse("channel-test", args=["acme", hook.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Sent" in response.text
    assert len(webhook_receiver.requests) == 1
    assert Notification.objects.get(channel=hook).status == "sent"
    assert AuditEvent.objects.filter(action="send_test", object_id=str(hook.pk)).exists()


def test_send_test_shows_the_error_when_delivery_fails(alice_client, hook, webhook_receiver):
    webhook_receiver.status = 500
    response = alice_client.post(reverse("channel-test", args=["acme", hook.pk]), follow=True)
    assert "failed" in response.text
    assert "500" in response.text
    assert Notification.objects.get(channel=hook).status == "failed"


def test_it_deletes_a_channel_after_asking(alice_client, hook):
    url = reverse("channel-delete", args=["acme", hook.pk])
    assert "Delete the channel" in alice_client.get(url).text
    assert Channel.objects.filter(pk=hook.pk).exists()
    alice_client.post(url)
    assert not Channel.objects.filter(pk=hook.pk).exists()


def test_members_and_viewers_see_channels_read_only(bob, victor, hook):
    for user in (bob, victor):
        client = _client(user)
        html = client.get(reverse("channels", args=["acme"])).text
        assert "Ops hook" in html
        assert "Send test" not in html and "You can look but not change" in html
        assert client.post(reverse("channel-test", args=["acme", hook.pk])).status_code == 403
        assert client.get(reverse("channel-new", args=["acme"])).status_code == 403
        assert client.post(reverse("channel-delete", args=["acme", hook.pk])).status_code == 403
    assert Channel.objects.filter(pk=hook.pk).exists()
    assert not Notification.objects.exists()


def test_another_organization_cannot_touch_a_channel(charlie_client, hook):
    for name in ("channel-edit", "channel-delete", "channel-test"):
        assert charlie_client.post(reverse(name, args=["acme", hook.pk])).status_code == 404
    assert Channel.objects.filter(pk=hook.pk).exists()


# --- Routing rules --------------------------------------------------------------------------------------


RULE = {
    "name": "Critical to ops",
    "min_severity": "critical",
    "group_window": "30",
    "quiet_timezone": "UTC",
    "notify_on_resolve": "on",
    "enabled": "on",
}


def test_the_rules_page_asks_for_a_channel_first(alice_client):
    assert "First add a channel" in alice_client.get(reverse("rules", args=["acme"])).text


def test_it_adds_a_routing_rule(alice_client, hook, service):
    data = {
        **RULE,
        "service": service.pk,
        "channels": [hook.pk],
        "escalation_channels": [hook.pk],
        "escalate_after_minutes": "15",
        "renotify_minutes": "60",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "quiet_timezone": "Europe/Paris",
    }
    response = alice_client.post(reverse("rule-new", args=["acme"]), data)
    assert response.status_code == 302, response.text
    rule = RoutingRule.objects.get()
    assert rule.service == service and list(rule.channels.all()) == [hook]
    assert (rule.escalate_after, rule.renotify_every) == (900, 3600)
    html = alice_client.get(reverse("rules", args=["acme"])).text
    assert "Critical to ops" in html and "Europe/Paris" in html
    edit = alice_client.get(reverse("rule-edit", args=["acme", rule.pk])).text
    assert 'value="15"' in edit and 'value="60"' in edit


@pytest.mark.parametrize(
    "change, message",
    [
        ({"escalation_channels": ["HOOK"]}, "after how many minutes"),
        ({"escalate_after_minutes": "5"}, "Choose at least one channel to escalate to"),
        ({"quiet_start": "22:00"}, "both a start and an end"),
        ({"quiet_timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"channels": []}, "This field is required"),
    ],
)
def test_it_explains_what_is_wrong_with_a_rule(alice_client, hook, change, message):
    change = {k: [hook.pk] if v == ["HOOK"] else v for k, v in change.items()}
    response = alice_client.post(
        reverse("rule-new", args=["acme"]), {**RULE, "channels": [hook.pk], **change}
    )
    assert response.status_code == 200
    assert message in response.text
    assert not RoutingRule.objects.exists()


def test_a_rule_cannot_use_another_organizations_channel(alice_client, other_org, hook):
    theirs = Channel.objects.create(organization=other_org, name="Theirs", kind="email", target="")
    response = alice_client.post(reverse("rule-new", args=["acme"]), {**RULE, "channels": [theirs.pk]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_a_viewer_cannot_add_a_rule(victor, hook):
    response = _client(victor).post(reverse("rule-new", args=["acme"]), {**RULE, "channels": [hook.pk]})
    assert response.status_code == 403
    assert not RoutingRule.objects.exists()


def test_it_deletes_a_rule(alice_client, acme, hook):
    rule = RoutingRule.objects.create(organization=acme, name="All")
    rule.channels.add(hook)
    alice_client.post(reverse("rule-delete", args=["acme", rule.pk]))
    assert not RoutingRule.objects.exists()


# --- Maintenance windows --------------------------------------------------------------------------------


def test_it_adds_a_maintenance_window_in_its_own_time_zone(alice_client, service):
    data = {
        "title": "Database upgrade",
        "service": service.pk,
        "starts_at": "2030-01-01T22:00",
        "ends_at": "2030-01-02T00:30",
        "timezone": "Europe/Paris",
        "recurrence": "weekly",
        "until": "2030-03-01T00:00",
    }
    response = alice_client.post(reverse("maintenance-new", args=["acme"]), data)
    assert response.status_code == 302, response.text
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == datetime(2030, 1, 1, 21, tzinfo=UTC)  # 22:00 in Paris is 21:00 UTC in winter
    assert window.ends_at == datetime(2030, 1, 1, 23, 30, tzinfo=UTC)
    edit = alice_client.get(reverse("maintenance-edit", args=["acme", window.pk])).text
    assert 'value="2030-01-01T22:00"' in edit


@pytest.mark.parametrize(
    "change, message",
    [
        ({"ends_at": "2030-01-01T08:00"}, "must end after it starts"),
        ({"until": "2030-02-01T00:00"}, "only applies to a recurring window"),
        ({"timezone": "Nowhere/Land"}, "time zone"),
        ({"starts_at": "yesterday"}, "Enter a valid date/time"),
    ],
)
def test_it_explains_what_is_wrong_with_a_window(alice_client, change, message):
    data = {
        "title": "Upgrade",
        "starts_at": "2030-01-01T22:00",
        "ends_at": "2030-01-02T00:30",
        "timezone": "UTC",
        "recurrence": "none",
    }
    response = alice_client.post(reverse("maintenance-new", args=["acme"]), {**data, **change})
    assert response.status_code == 200
    assert message in response.text
    assert not MaintenanceWindow.objects.exists()


def test_it_lists_windows_in_their_time_zone(alice_client, paris_window):
    html = alice_client.get(reverse("maintenance", args=["acme"])).text
    assert "Database upgrade" in html and "2030-01-01 22:00" in html and "Not active" in html


def test_another_organization_cannot_touch_a_window(charlie_client, paris_window):
    for name in ("maintenance-edit", "maintenance-delete"):
        assert charlie_client.post(reverse(name, args=["acme", paris_window.pk])).status_code == 404
    assert MaintenanceWindow.objects.filter(pk=paris_window.pk).exists()


# --- Delivery log ---------------------------------------------------------------------------------------


def test_the_delivery_log_shows_each_attempt(alice_client, hook, webhook_receiver):
    webhook_receiver.status = 503
    alice_client.post(reverse("channel-test", args=["acme", hook.pk]))
    html = alice_client.get(reverse("notifications", args=["acme"])).text
    assert "Test notification" in html
    assert "Failed" in html and "503" in html
    assert (
        "Nothing delivered yet"
        in alice_client.get(reverse("notifications", args=["acme"]), {"status": "sent"}).text
    )


def test_the_delivery_log_is_readable_by_viewers(victor, hook):
    assert _client(victor).get(reverse("notifications", args=["acme"])).status_code == 200
