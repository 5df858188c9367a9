"""Channels deliver for real: a webhook receiver, an SMTP server and Apprise, with retries and a log."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.alerting import run_pass, send_test, validate_target
from keepwell.core.models import AuditEvent, Channel, Delivery, Notification, RoutingRule


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture
def notify(acme, service, django_capture_on_commit_callbacks):
    """Route one warning finding to `channel` and run the machinery until the burst is sent."""

    def do(channel, key="monitor:1", at=31):
        rule, _ = RoutingRule.objects.get_or_create(
            organization=acme, name="All", defaults={"group_window": 30}
        )
        rule.channels.add(channel)
        with django_capture_on_commit_callbacks(execute=True):
            f = findings.raise_finding(service, source="monitoring", key=key, title="Shop is down")
        run_pass(later(at))
        return f

    return do


def hook(acme, url, name="Hook"):
    return Channel.objects.create(organization=acme, name=name, kind="webhook", target=url)


def test_it_signs_the_webhook_payload(acme, notify, webhook_receiver):
    channel = hook(acme, webhook_receiver.url)
    f = notify(channel)
    [request] = webhook_receiver.requests
    headers = request["headers"]
    expected = hmac.new(
        channel.signing_secret.encode(),
        headers["X-Keepwell-Timestamp"].encode() + b"." + request["body"],
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Keepwell-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert set(payload) >= {"event", "organization", "findings", "count", "subject"}
    assert payload["organization"] == {"slug": "acme", "name": "Acme"}
    [item] = payload["findings"]
    assert set(item) == {
        "id", "service", "source", "key", "title", "severity", "state", "url", "acknowledge_url", "resolve_url",
    }  # fmt: skip
    assert (item["id"], item["service"], item["state"]) == (f.pk, "shop-api", "open")
    assert item["acknowledge_url"].startswith("http://testserver/a/")


def test_it_retries_with_backoff_and_logs_each_attempt(acme, notify, webhook_receiver):
    webhook_receiver.status = 500
    notify(hook(acme, webhook_receiver.url))
    n = Notification.objects.get()
    assert (n.status, n.attempts) == ("pending", 1)
    assert "HTTP 500" in n.last_error
    first_delay = n.next_attempt_at - Delivery.objects.get().attempted_at
    assert first_delay == timedelta(seconds=60)
    run_pass(later(60))  # not due yet
    assert len(webhook_receiver.requests) == 1
    webhook_receiver.status = 200
    run_pass(later(95))
    n.refresh_from_db()
    assert (n.status, n.attempts, n.last_error) == ("sent", 2, "")
    assert list(Delivery.objects.order_by("id").values_list("ok", flat=True)) == [False, True]


def test_it_gives_up_after_the_last_attempt(acme, notify, webhook_receiver, settings):
    settings.ALERT_MAX_ATTEMPTS = 3
    webhook_receiver.status = 503
    notify(hook(acme, webhook_receiver.url))
    for at in (31 + 61, 31 + 61 + 121, 10_000, 20_000):
        run_pass(later(at))
    n = Notification.objects.get()
    assert (n.status, n.attempts) == ("failed", 3)
    assert "HTTP 503" in n.last_error
    assert len(webhook_receiver.requests) == 3


def test_it_refuses_a_webhook_to_a_private_address(acme, notify, settings):
    channel = Channel.objects.create(
        organization=acme, name="Inside", kind="webhook", target="http://10.0.0.5/x"
    )
    settings.ALLOW_PRIVATE_TARGETS = False
    notify(channel)
    n = Notification.objects.get()
    assert n.status == "pending" and "private" in n.last_error


def test_it_mails_the_channels_addresses(acme, notify, smtp_server):
    channel = Channel.objects.create(organization=acme, name="Mail", kind="email", target="ops@example.org")
    notify(channel)
    [message] = smtp_server
    assert message.envelope_to == ["ops@example.org"]
    assert message["Subject"] == "New warning finding in Acme / shop-api: Shop is down"
    body = message.get_content()
    assert "Acknowledge: http://testserver/a/" in body and "Resolve: http://testserver/a/" in body


def test_it_mails_every_member_when_the_channel_names_nobody(acme, alice, bob, notify, smtp_server):
    notify(Channel.objects.create(organization=acme, name="Team", kind="email", target=""))
    assert sorted(smtp_server[0].envelope_to) == ["alice@example.org", "bob@example.org"]


def test_it_delivers_through_apprise_for_real(acme, notify, webhook_receiver):
    url = webhook_receiver.url.replace("http://", "json://")
    notify(Channel.objects.create(organization=acme, name="Apprise", kind="apprise", target=url))
    [payload] = webhook_receiver.json()
    assert payload["title"] == "New warning finding in Acme / shop-api: Shop is down"
    assert "Acknowledge: http://testserver/a/" in payload["message"]
    assert Notification.objects.get().status == "sent"


def test_it_records_an_apprise_failure(acme, notify, webhook_receiver):
    webhook_receiver.status = 500
    url = webhook_receiver.url.replace("http://", "json://")
    notify(Channel.objects.create(organization=acme, name="Apprise", kind="apprise", target=url))
    n = Notification.objects.get()
    assert n.status == "pending" and n.last_error
    assert not Delivery.objects.get().ok


def test_it_sends_a_test_message_now(acme, webhook_receiver):
    n = send_test(hook(acme, webhook_receiver.url))
    assert (n.status, n.event) == ("sent", "test")
    [payload] = webhook_receiver.json()
    assert payload["event"] == "test" and payload["findings"] == []


def test_a_failed_test_message_says_why_and_is_not_retried(acme, webhook_receiver):
    webhook_receiver.status = 404
    n = send_test(hook(acme, webhook_receiver.url))
    assert n.status == "failed"
    assert n.last_error.startswith("The webhook answered HTTP 404")
    run_pass(later(3600))
    assert len(webhook_receiver.requests) == 1


def test_a_test_email_reaches_the_smtp_server(acme, alice, smtp_server):
    n = send_test(
        Channel.objects.create(organization=acme, name="Mail", kind="email", target="a@example.org")
    )
    assert n.status == "sent"
    assert smtp_server[0]["Subject"] == "Test notification from keepwell for Acme"


def test_it_validates_targets_with_clear_messages(settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    assert validate_target("email", " A@Example.org; b@example.org ") == "a@example.org, b@example.org"
    assert validate_target("email", "") == ""
    assert validate_target("webhook", " https://93.184.215.14/hook ") == "https://93.184.215.14/hook"
    assert validate_target("apprise", "discord://1234/abcdef") == "discord://1234/abcdef"
    cases = [
        ("email", "not-an-address", "is not an email address"),
        ("webhook", "ftp://example.com/x", "starts with https://"),
        ("webhook", "", "Enter the URL"),
        ("webhook", "http://169.254.169.254/latest", "does not send requests there"),
        ("apprise", "nosuchscheme://abc", "Apprise does not recognise"),
        ("apprise", "", "Enter an Apprise URL"),
        ("apprise", "json://127.0.0.1:8000/hook", "does not send requests there"),
        ("sms", "123", "Unknown channel kind"),
    ]
    for kind, target, message in cases:
        with pytest.raises(ValidationError, match=message):
            validate_target(kind, target)


def test_it_masks_targets_and_keeps_secrets_out_of_the_audit_log(acme):
    channel = hook(acme, "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX")
    assert channel.masked_target.startswith("https://••••••••")
    assert "secret" not in channel.masked_target
    assert len(channel.signing_secret) > 30
    logged = json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert "secretXXXX" not in logged and channel.signing_secret not in logged
    raw = Channel.objects.filter(pk=channel.pk).values_list("target", flat=True)
    assert "hooks.example.com" in channel.target
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT target FROM core_channel WHERE id = %s", [channel.pk])
        assert cursor.fetchone()[0].startswith("fernet:")
    assert raw  # the ORM still reads it back
