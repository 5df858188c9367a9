"""Leases in the database: probers claim due checks exclusively, complete them, and a dead one's expire."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core.models import Service
from keepwell.monitoring.models import CheckResult, Monitor, ProberLease
from keepwell.monitoring.prober import leases
from keepwell.monitoring.prober.wire import Outcome


@pytest.fixture
def now():
    return timezone.now()


def monitor(service, name, *, due, interval=60, **fields):
    return Monitor.objects.create(
        organization=service.organization,
        service=service,
        name=name,
        target=f"https://{name}.example.com/",
        interval=interval,
        next_check_at=due,
        **fields,
    )


def outcome(m, now, ok=True):
    return Outcome(id=m.id, ok=ok, due=m.next_check_at, started=now, latency_ms=12, status_code=200)


def test_it_leases_the_due_monitors_earliest_first(service, now):
    later = monitor(service, "later", due=now - timedelta(seconds=1))
    first = monitor(service, "first", due=now - timedelta(seconds=5))
    soon = monitor(service, "soon", due=now + timedelta(seconds=1))  # within the two-second horizon
    monitor(service, "future", due=now + timedelta(seconds=30))
    monitor(service, "paused", due=now - timedelta(seconds=5), paused=True)
    claimed = leases.claim("prober-a", now=now)
    assert [a.id for a in claimed] == [first.id, later.id, soon.id]
    assert claimed[0].target == "https://first.example.com/" and claimed[0].kind == "http"
    held = Monitor.objects.get(pk=first.pk)
    assert held.lease_owner == "prober-a"
    assert held.lease_until > now + timedelta(seconds=10)


def test_a_leased_monitor_is_not_leased_again_by_another_prober(service, now):
    monitor(service, "one", due=now)
    monitor(service, "two", due=now)
    a = leases.claim("prober-a", limit=1, now=now)
    b = leases.claim("prober-b", now=now)
    c = leases.claim("prober-c", now=now)
    assert len(a) == len(b) == 1 and a[0].id != b[0].id
    assert c == []


def test_a_dead_probers_lease_expires_and_another_prober_takes_the_check(service, now):
    m = monitor(service, "orphan", due=now)
    assert leases.claim("dead-prober", now=now)
    until = Monitor.objects.get(pk=m.pk).lease_until
    assert leases.claim("survivor", now=until - timedelta(seconds=1)) == []
    taken = leases.claim("survivor", now=until + timedelta(seconds=1))
    assert [a.id for a in taken] == [m.id]
    assert Monitor.objects.get(pk=m.pk).lease_owner == "survivor"


def test_completing_a_check_records_it_schedules_the_next_and_frees_the_lease(service, now):
    m = monitor(service, "shop", due=now)
    leases.claim("prober-a", now=now)
    assert leases.complete("prober-a", [outcome(m, now)], now=now) == 1
    m.refresh_from_db()
    assert (m.status, m.last_latency_ms, m.lease_owner, m.lease_until) == ("up", 12, "", None)
    assert now + timedelta(seconds=59) <= m.next_check_at <= now + timedelta(seconds=61)
    result = CheckResult.objects.get(monitor=m)
    assert (result.ok, result.status_code, result.location) == (True, 200, "local")


def test_a_result_for_a_check_the_prober_does_not_hold_is_ignored(service, now):
    m = monitor(service, "shop", due=now)
    leases.claim("prober-a", now=now)
    assert leases.complete("prober-b", [outcome(m, now, ok=False)], now=now) == 0
    assert not CheckResult.objects.exists()
    assert Monitor.objects.get(pk=m.pk).lease_owner == "prober-a"


def test_a_stopping_prober_gives_back_the_checks_it_did_not_start(service, now):
    m = monitor(service, "shop", due=now)
    leases.claim("prober-a", now=now)
    assert leases.release("prober-b", [m.id]) == 0  # not its lease
    assert leases.release("prober-a", [m.id]) == 1
    assert [a.id for a in leases.claim("prober-b", now=now)] == [m.id]


def test_a_failure_that_cannot_be_recorded_does_not_lose_the_rest_of_the_batch(service, now):
    good = monitor(service, "good", due=now)
    gone = monitor(service, "gone", due=now)
    leases.claim("prober-a", now=now)
    gone_outcome = outcome(gone, now)
    gone.delete()  # deleted while its check ran
    assert leases.complete("prober-a", [gone_outcome, outcome(good, now)], now=now) == 1
    assert CheckResult.objects.filter(monitor_id=good.id).count() == 1


def test_a_remote_location_has_its_own_schedule_of_the_organizations_monitors(service, charlie, now):
    m = monitor(service, "shop", due=now + timedelta(hours=1))  # not due locally
    other = Service.objects.create(organization=charlie.memberships.first().organization, name="G", slug="g")
    monitor(other, "globex", due=now)
    org = service.organization
    claimed = leases.claim("frankfurt#1", location="frankfurt", organization=org, horizon=0, now=now)
    assert claimed == []  # first seen: scheduled within ten seconds, not all at once
    lease = ProberLease.objects.get(monitor=m, location="frankfurt")
    assert now <= lease.next_check_at <= now + timedelta(seconds=10)
    assert ProberLease.objects.count() == 1  # globex's monitor is not acme's prober's business
    later = now + timedelta(seconds=10)
    claimed = leases.claim("frankfurt#1", location="frankfurt", organization=service.organization, now=later)
    assert [a.id for a in claimed] == [m.id]
    done = Outcome(id=m.id, ok=False, due=claimed[0].due, started=later, error="Connection refused")
    assert (
        leases.complete("frankfurt#1", [done], location="frankfurt", organization=service.organization) == 1
    )
    assert CheckResult.objects.get(monitor=m).location == "frankfurt"
    m.refresh_from_db()
    assert m.next_check_at == now + timedelta(hours=1)  # the hub's own schedule did not move
    lease.refresh_from_db()
    assert lease.lease_owner == "" and lease.next_check_at > later + timedelta(seconds=50)


def test_a_remote_location_is_claimed_for_one_organization_only(service, now):
    with pytest.raises(ValueError, match="one organization"):
        leases.claim("frankfurt#1", location="frankfurt", now=now)
