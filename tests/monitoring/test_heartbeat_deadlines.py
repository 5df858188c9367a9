"""Late heartbeats go down: the pass that marks them, under a clock the test sets."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from keepwell.core.models import Finding
from keepwell.monitoring import heartbeat_tasks, heartbeats
from keepwell.monitoring.models import Heartbeat


@pytest.fixture
def heartbeat(service):
    return Heartbeat.objects.create(
        organization=service.organization, service=service, name="Nightly backup", period=3600, grace=600
    )


def ping(heartbeat, kind="success", at=None, **kwargs):
    return heartbeats.record_ping(heartbeat.pk, kind=kind, now=at, **kwargs)


def finding_of(heartbeat):
    return Finding.objects.filter(source="monitoring", key=f"heartbeat:{heartbeat.uuid}").first()


def test_a_heartbeat_pinged_on_time_stays_up(heartbeat):
    now = timezone.now()
    ping(heartbeat, at=now)
    assert heartbeats.mark_late_down(now + timedelta(seconds=3600 + 599)) == 0
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    assert finding_of(heartbeat) is None


def test_a_heartbeat_late_past_its_grace_goes_down_with_a_finding(heartbeat):
    now = timezone.now()
    ping(heartbeat, at=now)
    assert heartbeats.mark_late_down(now + timedelta(seconds=3600 + 600)) == 1
    heartbeat.refresh_from_db()
    assert heartbeat.status == "down" and heartbeat.alert_after is None
    finding = finding_of(heartbeat)
    assert finding.state == "open" and "late" in finding.title
    assert finding.service == heartbeat.service


def test_it_goes_down_once_however_many_passes_run(heartbeat):
    now = timezone.now()
    ping(heartbeat, at=now)
    later = now + timedelta(hours=2)
    assert [heartbeats.mark_late_down(later) for _ in range(3)] == [1, 0, 0]
    assert finding_of(heartbeat).count == 1


def test_a_run_that_outlasts_its_grace_goes_down(heartbeat):
    now = timezone.now()
    ping(heartbeat, "start", at=now)
    assert heartbeats.mark_late_down(now + timedelta(seconds=599)) == 0
    assert heartbeats.mark_late_down(now + timedelta(seconds=600)) == 1
    assert "has not finished" in finding_of(heartbeat).title


def test_a_ping_that_lands_while_the_pass_runs_wins(heartbeat):
    now = timezone.now()
    ping(heartbeat, at=now - timedelta(hours=3))
    read_by_the_pass = Heartbeat.objects.get(pk=heartbeat.pk)  # late when the pass read it
    ping(heartbeat, at=now)  # then the job pinged
    assert heartbeats.mark_down(read_by_the_pass) is False
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    assert finding_of(heartbeat) is None


def test_new_and_paused_heartbeats_never_go_down(heartbeat):
    other = Heartbeat.objects.create(organization=heartbeat.organization, service=heartbeat.service, name="b")
    ping(other)
    heartbeats.pause(other)
    assert heartbeats.mark_late_down(timezone.now() + timedelta(days=400)) == 0


def test_a_cron_heartbeat_goes_down_after_its_next_fire_and_grace(heartbeat):
    Heartbeat.objects.filter(pk=heartbeat.pk).update(kind="cron", schedule="0 * * * *", tz="Europe/Berlin")
    heartbeat.refresh_from_db()
    at = timezone.now().replace(minute=0, second=30, microsecond=0)
    ping(heartbeat, at=at)
    heartbeat.refresh_from_db()
    assert heartbeat.alert_after == at.replace(second=0) + timedelta(hours=1, seconds=600)


def test_pausing_a_down_heartbeat_resolves_its_finding_and_resuming_makes_it_new(heartbeat):
    ping(heartbeat, "fail")
    heartbeats.pause(heartbeat)
    assert finding_of(heartbeat).state == "resolved"
    heartbeats.resume(heartbeat)
    assert heartbeat.status == "new" and heartbeat.alert_after is None


def test_the_pass_asks_for_another_pass_right_at_the_next_deadline(heartbeat, settings):
    cache.clear()
    now = timezone.now()
    ping(heartbeat, at=now - timedelta(seconds=3600 + 600 - 20))  # goes down in 20 s
    assert heartbeat_tasks.schedule_next_heartbeats_pass() is True
    # The same moment is asked for once only.
    assert heartbeat_tasks.schedule_next_heartbeats_pass() is False


def test_the_pass_leaves_far_deadlines_to_the_periodic_pass(heartbeat):
    cache.clear()
    ping(heartbeat)
    assert heartbeat_tasks.schedule_next_heartbeats_pass() is False


def test_pruning_keeps_the_newest_pings_of_each_heartbeat(heartbeat, settings):
    settings.PING_LOG_LIMIT = 3
    for _ in range(5):
        ping(heartbeat)
    assert heartbeat_tasks.prune_pings.call_local() == 2
    assert list(heartbeat.pings.order_by("n").values_list("n", flat=True)) == [3, 4, 5]
