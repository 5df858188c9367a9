"""The findings inbox and a finding's page: filters, search, and acknowledge / resolve / snooze."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keepwell.core.findings import raise_finding
from keepwell.core.models import AuditEvent, Finding, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def findings(service, acme):
    other = Service.objects.create(organization=acme, name="Web", slug="web")
    return {
        "down": raise_finding(
            service, source="monitoring", key="m1", title="API is down", severity="critical"
        ),
        "stale": raise_finding(
            service, source="documentation", key="d1", title="Stale README", severity="info"
        ),
        "vuln": raise_finding(other, source="security", key="s1", title="Vulnerable lodash"),
    }


def _inbox(client, **params):
    return client.get(reverse("findings", args=["acme"]), params).text


def test_it_says_what_findings_are_when_there_are_none(alice_client):
    html = _inbox(alice_client)
    assert "No findings yet" in html


@pytest.mark.parametrize(
    "params, shown, hidden",
    [
        ({}, ["API is down", "Stale README", "Vulnerable lodash"], []),
        ({"service": "web"}, ["Vulnerable lodash"], ["API is down"]),
        ({"severity": "critical"}, ["API is down"], ["Stale README", "Vulnerable lodash"]),
        ({"source": "documentation"}, ["Stale README"], ["API is down"]),
        ({"q": "lodash"}, ["Vulnerable lodash"], ["Stale README"]),
        ({"state": "acknowledged"}, [], ["API is down", "Stale README"]),
        ({"severity": "nonsense", "state": "nonsense"}, ["API is down"], []),
    ],
)
def test_it_filters_and_searches_the_inbox(alice_client, findings, params, shown, hidden):
    html = _inbox(alice_client, **params)
    for title in shown:
        assert title in html
    for title in hidden:
        assert title not in html


def test_it_hides_resolved_findings_unless_asked(alice_client, findings, alice):
    Finding.objects.filter(pk=findings["down"].pk).update(state="resolved")
    assert "API is down" not in _inbox(alice_client)
    assert "API is down" in _inbox(alice_client, state="resolved")
    assert "API is down" in _inbox(alice_client, state="all")


def test_it_paginates_and_keeps_the_filters(alice_client, service):
    for i in range(30):
        raise_finding(service, source="monitoring", key=f"k{i}", title=f"Problem {i}", severity="critical")
    html = _inbox(alice_client, severity="critical")
    assert "Page 1 of 2" in html
    assert "severity=critical&amp;page=2" in html


def test_it_acknowledges_a_finding_with_a_plain_form(alice_client, alice, findings):
    finding = findings["down"]
    url = reverse("finding-act", args=["acme", finding.pk])
    response = alice_client.post(url, {"action": "acknowledge", "next": "/o/acme/findings/?state=all"})
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/findings/?state=all"
    finding.refresh_from_db()
    assert finding.state == "acknowledged" and finding.acknowledged_by == alice
    event = AuditEvent.objects.get(action="acknowledge")
    assert event.actor == alice and event.object_id == str(finding.pk)


def test_it_answers_an_htmx_action_with_the_updated_row(alice_client, findings):
    finding = findings["down"]
    response = alice_client.post(
        reverse("finding-act", args=["acme", finding.pk]),
        {"action": "resolve"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.strip().startswith(f'<tr id="finding-{finding.pk}"')
    assert "Resolved." in response.text
    assert "<html" not in response.text
    assert Finding.objects.get(pk=finding.pk).state == "resolved"
    assert AuditEvent.objects.filter(action="resolve").count() == 1


def test_it_snoozes_a_finding(alice_client, findings):
    finding = findings["down"]
    before = timezone.now()
    alice_client.post(
        reverse("finding-act", args=["acme", finding.pk]), {"action": "snooze", "duration": "4h"}
    )
    finding.refresh_from_db()
    assert before + timedelta(hours=4) <= finding.snoozed_until <= timezone.now() + timedelta(hours=4)
    assert AuditEvent.objects.filter(action="snooze").exists()


@pytest.mark.parametrize("data", [{"action": "explode"}, {"action": "snooze", "duration": "1y"}, {}])
def test_it_refuses_an_unknown_action_clearly(alice_client, findings, data):
    response = alice_client.post(reverse("finding-act", args=["acme", findings["down"].pk]), data)
    assert response.status_code == 400
    assert "choose" in response.text.lower() or "Choose" in response.text


def test_it_does_not_audit_an_action_that_changed_nothing(alice_client, findings):
    finding = findings["down"]
    url = reverse("finding-act", args=["acme", finding.pk])
    alice_client.post(url, {"action": "resolve"})
    alice_client.post(url, {"action": "resolve"})
    assert AuditEvent.objects.filter(action="resolve").count() == 1


def test_it_ignores_a_next_address_on_another_site(alice_client, findings):
    response = alice_client.post(
        reverse("finding-act", args=["acme", findings["down"].pk]),
        {"action": "acknowledge", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("findings", args=["acme"])


def test_a_viewer_sees_findings_but_cannot_act(victor, findings):
    client = Client()
    client.force_login(victor)
    html = _inbox(client)
    assert "API is down" in html
    assert reverse("finding-act", args=["acme", findings["down"].pk]) not in html
    response = client.post(reverse("finding-act", args=["acme", findings["down"].pk]), {"action": "resolve"})
    assert response.status_code == 403
    assert Finding.objects.get(pk=findings["down"].pk).state == "open"


def test_a_member_may_act(bob, findings):
    client = Client()
    client.force_login(bob)
    client.post(reverse("finding-act", args=["acme", findings["down"].pk]), {"action": "acknowledge"})
    assert Finding.objects.get(pk=findings["down"].pk).state == "acknowledged"


def test_the_action_address_only_takes_posts(alice_client, findings):
    assert alice_client.get(reverse("finding-act", args=["acme", findings["down"].pk])).status_code == 405


def test_it_shows_a_finding_with_its_history(alice_client, findings):
    finding = findings["down"]
    alice_client.post(reverse("finding-act", args=["acme", finding.pk]), {"action": "acknowledge"})
    html = alice_client.get(reverse("finding", args=["acme", finding.pk])).text
    assert "API is down" in html
    assert "Opened" in html and "Acknowledged" in html and "alice@example.org" in html
    assert "No notification has been sent" in html


def test_it_hides_another_organizations_findings(charlie_client, findings):
    finding = findings["down"]
    assert charlie_client.get(reverse("finding", args=["acme", finding.pk])).status_code == 404
    response = charlie_client.post(reverse("finding-act", args=["acme", finding.pk]), {"action": "resolve"})
    assert response.status_code == 404
    assert Finding.objects.get(pk=finding.pk).state == "open"


def test_it_does_not_reach_a_finding_through_the_wrong_organization(alice, charlie, other_org, alice_client):
    theirs = Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    finding = raise_finding(theirs, source="x", key="y", title="Secret")
    assert alice_client.get(reverse("finding", args=["acme", finding.pk])).status_code == 404
    response = alice_client.post(reverse("finding-act", args=["acme", finding.pk]), {"action": "resolve"})
    assert response.status_code == 404
