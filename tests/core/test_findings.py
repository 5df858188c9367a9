from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.models import Finding, FindingEvent
from keepwell.core.signals import finding_changed


@pytest.fixture
def events():
    seen = []

    def receiver(sender, finding, event, actor, **kwargs):
        seen.append((finding.key, event))

    finding_changed.connect(receiver)
    yield seen
    finding_changed.disconnect(receiver)


def raise_down(service, severity="warning"):
    return findings.raise_finding(
        service, source="monitoring", key="monitor:1", title="Shop is down", severity=severity
    )


@pytest.mark.django_db(transaction=True)
def test_it_opens_then_counts_a_recurring_finding(service, events):
    first = raise_down(service)
    second = raise_down(service)
    assert first.pk == second.pk
    f = Finding.objects.get()
    assert (f.state, f.count) == ("open", 2)
    assert events == [("monitor:1", "opened")]


@pytest.mark.django_db(transaction=True)
def test_it_reopens_a_resolved_finding_on_recurrence(service, events):
    raise_down(service)
    findings.resolve_finding(service, source="monitoring", key="monitor:1")
    raise_down(service)
    f = Finding.objects.get()
    assert (f.state, f.times_reopened, f.resolved_at) == ("open", 1, None)
    assert [e for _, e in events] == ["opened", "resolved", "reopened"]


@pytest.mark.django_db(transaction=True)
def test_it_reports_a_raised_severity(service, events):
    raise_down(service, "warning")
    raise_down(service, "critical")
    assert Finding.objects.get().severity == "critical"
    assert [e for _, e in events] == ["opened", "escalated"]


def test_it_refuses_an_unknown_severity(service):
    with pytest.raises(ValueError, match="severity must be one of"):
        raise_down(service, "catastrophic")


def test_it_acknowledges_only_open_findings(service, alice):
    f = raise_down(service)
    assert findings.acknowledge(f, alice) is True
    assert findings.acknowledge(f, alice) is False
    f.refresh_from_db()
    assert (f.state, f.acknowledged_by) == ("acknowledged", alice)
    assert findings.resolve(f, alice) is True
    assert findings.resolve(f, alice) is False
    assert list(FindingEvent.objects.filter(finding=f).values_list("kind", flat=True).order_by("id")) == [
        "opened",
        "acknowledged",
        "resolved",
    ]


def test_it_snoozes_unresolved_findings(service, alice):
    f = raise_down(service)
    until = timezone.now() + timedelta(hours=2)
    assert findings.snooze(f, until, alice)
    f.refresh_from_db()
    assert f.is_snoozed
    findings.resolve(f, alice)
    assert not findings.snooze(f, until, alice)


def test_it_keeps_findings_of_different_services_apart(service, acme):
    from keepwell.core.models import Service

    other = Service.objects.create(organization=acme, name="Web", slug="web")
    raise_down(service)
    raise_down(other)
    assert Finding.objects.count() == 2
