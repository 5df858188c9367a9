"""Heartbeats on status pages: each day's bar replayed from the ping log (on time, late, missed, failed)."""

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keepwell.core import cron
from keepwell.monitoring import heartbeats, views_public
from keepwell.monitoring.heartbeat_history import FireTimes, daily_uptime, replay
from keepwell.monitoring.models import CheckResult, Heartbeat, Monitor, StatusComponent, StatusPage

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
D1, D2, D3 = date(2030, 3, 1), date(2030, 3, 2), date(2030, 3, 3)


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def hourly(first: datetime, last: datetime, skip=()):
    """Success pings on the hour from `first` to `last`, leaving out the moments in `skip`."""
    out, moment = [], first
    while moment <= last:
        if moment not in skip:
            out.append((moment, "success"))
        moment += HOUR
    return out


def days(pings, now, *, status_now="up", kind="period", period=3600, grace=600, schedule="", tz="UTC"):
    replayed = replay(
        pings,
        kind=kind,
        period=period,
        grace=grace,
        schedule=schedule,
        tz=tz,
        status_now=status_now,
        now=now,
        since=at(D1),
    )
    return dict(daily_uptime(replayed, [D1, D2, D3]))


def share_up(down: timedelta, watched: timedelta) -> float:
    return round(100 * (1 - down / watched), 3)


# --- The replay: pure, no database -------------------------------------------------------------------


def test_a_job_on_time_is_up_all_day_and_days_before_its_first_ping_have_no_data():
    now = at(D3, 12)
    assert days(hourly(at(D2), now), now) == {D1: None, D2: 100.0, D3: 100.0}


def test_a_late_ping_costs_the_time_from_the_deadline_to_the_ping():
    now = at(D3, 12)
    pings = hourly(at(D1), now, skip={at(D2, 10)}) + [(at(D2, 10, 25), "success")]
    pings.sort()
    # Expected at 10:00 with 10 minutes' grace: down from 10:10 until the ping at 10:25.
    assert days(pings, now) == {D1: 100.0, D2: share_up(15 * MINUTE, 24 * HOUR), D3: 100.0}


def test_a_missed_run_is_down_from_its_deadline_until_the_next_success():
    now = at(D3, 12)
    pings = hourly(at(D1), now, skip={at(D1, 22), at(D1, 23), at(D2, 0), at(D2, 1)})
    # The last ping at 21:00 was due again at 22:00, down from 22:10 until 02:00 the next day.
    assert days(pings, now) == {
        D1: share_up(110 * MINUTE, 24 * HOUR),
        D2: share_up(2 * HOUR, 24 * HOUR),
        D3: 100.0,
    }


def test_a_failure_is_down_until_the_next_success_and_a_run_must_finish_within_its_grace():
    now = at(D3, 12)
    pings = hourly(at(D1), now, skip={at(D2, 6), at(D2, 8)})
    pings += [(at(D2, 6), "fail"), (at(D2, 8), "start"), (at(D2, 8, 30), "log")]
    pings.sort()
    # Failed at 06:00, up at 07:00; started at 08:00 and unfinished past the grace: down 08:10 to 09:00.
    down = HOUR + 50 * MINUTE
    assert days(pings, now) == {D1: 100.0, D2: share_up(down, 24 * HOUR), D3: 100.0}


def test_a_heartbeat_silent_since_its_deadline_is_down_until_now_unless_it_is_paused():
    now = at(D3, 12)
    pings = hourly(at(D1), at(D2, 23))
    down = 12 * HOUR - 10 * MINUTE  # from 00:10 until noon
    assert days(pings, now, status_now="down") == {D1: 100.0, D2: 100.0, D3: share_up(down, 12 * HOUR)}
    # Paused (or new again after a resume): watched only until its last ping, so today has no data.
    assert days(pings, now, status_now="paused") == {D1: 100.0, D2: 100.0, D3: None}


def test_a_cron_heartbeat_is_late_against_its_schedule_in_its_time_zone():
    # Daily at 03:00 in Berlin (02:00 UTC in March), an hour's grace; the run of D2 never pinged.
    pings = [(at(D1, 2, 5), "success"), (at(D3, 2, 5), "success")]
    now = at(D3, 12)
    result = days(pings, now, kind="cron", schedule="0 3 * * *", tz="Europe/Berlin", grace=3600)
    # Watched from D1 02:05; down from D2 03:00 UTC (02:00 + the grace) until D3 02:05.
    assert result == {
        D1: 100.0,
        D2: share_up(21 * HOUR, 24 * HOUR),
        D3: share_up(2 * HOUR + 5 * MINUTE, 12 * HOUR),
    }


def test_fire_times_answer_as_cron_next_fire_does_across_a_dst_change():
    """FireTimes walks one croniter forward instead of starting afresh: same answers, in order or not."""
    rng = random.Random(7)
    start = datetime(2030, 3, 30, tzinfo=UTC)  # Berlin moves its clocks at 01:00 UTC on 31 March 2030
    for line in ("30 2 * * *", "*/20 * * * *", "0 * * * *", "15 3 * * 1-5"):
        fires = FireTimes()
        moments = sorted(start + timedelta(minutes=rng.randrange(0, 4 * 24 * 60)) for _ in range(200))
        moments += [start + timedelta(days=40), start]  # a jump far ahead, then back
        for moment in moments:
            assert fires(line, "Europe/Berlin", moment) == cron.next_fire(line, "Europe/Berlin", moment), (
                line,
                moment,
            )
    assert FireTimes()("0 0 30 2 *", "UTC", start) == cron.NEVER


# --- The pages: public and team, cached -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return {"now": timezone.now(), "today": today, "yesterday": today - timedelta(days=1)}


def ping_hourly(heartbeat, first, last, skip=()):
    """Ping the heartbeat through the real ping path, at the given moments."""
    for moment, _ in hourly(first, last, skip):
        heartbeats.record_ping(heartbeat.pk, kind="success", now=moment)


@pytest.fixture
def nightly(acme, service, clock):
    """An hourly job that pinged from yesterday 00:00 to now, except yesterday at 10:00 and 11:00."""
    heartbeat = Heartbeat.objects.create(
        organization=acme, service=service, name="Hourly export", period=3600, grace=600
    )
    yesterday = clock["yesterday"]
    ping_hourly(heartbeat, yesterday, clock["now"], skip={yesterday + 10 * HOUR, yesterday + 11 * HOUR})
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    return heartbeat


# Down from 10:10 (09:00 + an hour + 10 minutes' grace) until the ping at 12:00.
YESTERDAY = share_up(110 * MINUTE, 24 * HOUR)


@pytest.fixture
def page(acme, nightly):
    page = StatusPage.objects.create(organization=acme, slug="acme-status", title="Acme status")
    component = StatusComponent.objects.create(page=page, name="Exports", position=1)
    component.heartbeats.add(nightly)
    return page


def bars(html):
    return re.findall(r'<svg class="uptime-bar".*?</svg>', html, re.DOTALL)


def test_a_component_of_heartbeats_alone_has_a_bar_from_their_pings(page, clock):
    html = Client().get("/status/acme-status/").content.decode()
    (bar,) = bars(html)
    assert bar.count("<rect") == 90
    assert f"{clock['yesterday']:%Y-%m-%d}: {YESTERDAY:.2f}% up" in bar
    assert f"{clock['today']:%Y-%m-%d}: 100.00% up" in bar
    assert bar.count('class="day-none"') == 88, "no pings before yesterday"
    assert bar.count('class="day-outage"') == 1, "92.4 % is below 95 %"
    assert bar.count('class="day-ok"') == 1
    assert f"{(YESTERDAY + 100) / 2:.2f}% uptime" in html


def test_monitors_and_heartbeats_of_a_component_count_alike(page, service, acme, clock):
    monitor = Monitor.objects.create(
        organization=acme, service=service, name="API", target="https://api.example.com", status="up"
    )
    for ok in (True, True, True, False):
        CheckResult.objects.create(monitor=monitor, checked_at=clock["yesterday"] + 2 * HOUR, ok=ok)
    page.components.get().monitors.add(monitor)
    (bar,) = bars(Client().get("/status/acme-status/").content.decode())
    assert f"{clock['yesterday']:%Y-%m-%d}: {(YESTERDAY + 75) / 2:.2f}% up" in bar
    assert f"{clock['today']:%Y-%m-%d}: 100.00% up" in bar, "the monitor has no check today"


def test_the_team_page_shows_the_same_bar(page, alice_client, clock):
    html = alice_client.get(f"/o/acme/status-pages/{page.pk}/").content.decode()
    (bar,) = bars(html)
    assert f"{clock['yesterday']:%Y-%m-%d}: {YESTERDAY:.2f}% up" in bar
    assert "monitoring/status.css" in html


def test_all_heartbeats_pings_are_read_in_one_query_and_the_cached_page_costs_none(
    page, acme, service, clock
):
    def build_queries():
        with CaptureQueriesContext(connection) as queries:
            views_public.page_context(StatusPage.objects.get(pk=page.pk))
        return len(queries)

    one = build_queries()
    component = StatusComponent.objects.create(page=page, name="Jobs", position=2)
    for name in ("Backup", "Report", "Cleanup"):
        heartbeat = Heartbeat.objects.create(organization=acme, service=service, name=name)
        ping_hourly(heartbeat, clock["today"], clock["now"])
        component.heartbeats.add(heartbeat)
    assert build_queries() == one, "three more heartbeats, no more queries"

    client = Client()
    assert client.get("/status/acme-status/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/status/acme-status/").status_code == 200
    assert len(queries) == 0
