"""Signed one-click links: GET only asks, POST acts, and old or changed links are refused clearly."""

import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.alerting import action_url, links, run_pass
from keepwell.core.models import AuditEvent, Channel, Finding, RoutingRule


@pytest.fixture
def finding(service):
    return findings.raise_finding(service, source="monitoring", key="monitor:1", title="Shop <b>is</b> down")


def path_of(url):
    assert url.startswith("http://testserver/a/")
    return url.removeprefix("http://testserver")


def csrf_client():
    return Client(enforce_csrf_checks=True)


def post_with_csrf(client, path):
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(path, {"csrfmiddlewaretoken": token})


def test_a_get_only_asks_and_changes_nothing(finding):
    response = Client().get(path_of(action_url(finding, "acknowledge")))
    assert response.status_code == 200
    assert b"Acknowledge this finding?" in response.content
    assert b"Shop &lt;b&gt;is&lt;/b&gt; down" in response.content  # escaped
    finding.refresh_from_db()
    assert finding.state == "open"


def test_the_button_acknowledges_without_signing_in(finding):
    response = post_with_csrf(csrf_client(), path_of(action_url(finding, "acknowledge")))
    assert response.status_code == 200
    assert b"Done: the finding is acknowledged." in response.content
    finding.refresh_from_db()
    assert (finding.state, finding.acknowledged_by) == ("acknowledged", None)
    event = AuditEvent.objects.get(action="acknowledge")
    assert (event.actor_label, event.organization.slug) == ("signed link in a notification", "acme")


def test_the_button_credits_a_signed_in_member(finding, alice_client, alice):
    post_with_csrf(alice_client, path_of(action_url(finding, "resolve")))
    finding.refresh_from_db()
    assert (finding.state, finding.resolved_by) == ("resolved", alice)
    assert AuditEvent.objects.get(action="resolve").actor == alice


def test_it_refuses_a_post_without_the_csrf_token(finding):
    response = csrf_client().post(path_of(action_url(finding, "resolve")))
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.state == "open"


def test_it_says_when_the_work_is_already_done(finding):
    findings.resolve(finding)
    response = Client().get(path_of(action_url(Finding.objects.get(), "acknowledge")))
    assert b"already resolved" in response.content
    assert b"<form" not in response.content


def test_it_refuses_a_changed_link(finding):
    path = path_of(action_url(finding, "resolve"))
    response = Client().get(path[:-3] + "xyz/")
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert Client().post(path[:-3] + "xyz/").status_code in (400, 403)


def test_it_refuses_an_expired_link(finding):
    class EightDaysAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)

    token = EightDaysAgo(salt=links.SALT).sign_object([finding.pk, "a", int(finding.opened_at.timestamp())])
    response = Client().get(f"/a/{token}/")
    assert response.status_code == 410
    assert b"expired" in response.content


def test_a_link_from_an_earlier_episode_no_longer_acts(finding, service):
    old = path_of(action_url(finding, "resolve"))
    findings.resolve(finding)
    findings.raise_finding(
        service, source="monitoring", key="monitor:1", title="Shop is down", severity="warning"
    )
    Finding.objects.filter(pk=finding.pk).update(opened_at=timezone.now() + timedelta(seconds=5))
    response = Client().post(old)
    assert response.status_code == 409
    assert Finding.objects.get().state == "open"


def test_it_answers_a_missing_finding_with_404(finding):
    path = path_of(action_url(finding, "acknowledge"))
    Finding.objects.all().delete()
    assert Client().get(path).status_code == 404


def test_it_refuses_an_unknown_action(finding):
    with pytest.raises(ValueError, match="action must be one of"):
        action_url(finding, "delete")


def test_the_link_in_a_real_email_acknowledges(
    acme, service, smtp_server, django_capture_on_commit_callbacks
):
    channel = Channel.objects.create(organization=acme, name="Mail", kind="email", target="ops@example.org")
    rule = RoutingRule.objects.create(organization=acme, name="All")
    rule.channels.add(channel)
    with django_capture_on_commit_callbacks(execute=True):
        findings.raise_finding(service, source="backups", key="plan:1", title="Backup overdue")
    run_pass(timezone.now() + timedelta(seconds=31))
    url = re.search(r"Acknowledge: (\S+)", smtp_server[0].get_content()).group(1)
    post_with_csrf(csrf_client(), path_of(url))
    assert Finding.objects.get().state == "acknowledged"
