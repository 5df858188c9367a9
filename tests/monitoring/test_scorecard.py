"""The monitoring column of the scorecard: honest about nothing set up, failing when anything is down,
attention for what is not known to be up, ok otherwise, with a one-line reason and a link to the list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core import scorecard
from keepwell.core.models import Service
from keepwell.monitoring import checks
from keepwell.monitoring.checks import OVERDUE, summarize
from keepwell.monitoring.models import Heartbeat, Monitor

# --- The pure summary ----------------------------------------------------------------------------------------


def test_nothing_configured_is_not_set_up():
    assert summarize({}, {}) == ("not set up", "No uptime monitors or heartbeats yet.", "monitors")


def test_any_down_monitor_or_heartbeat_fails_and_names_them():
    state, reason, link = summarize(
        {"up": (5, []), "down": (3, ["API", "Checkout", "Search"])}, {"down": (1, ["Backup"])}
    )
    assert state == "failing"
    assert reason == "3 monitors down (API, Checkout and 1 more); 1 heartbeat down (Backup)."
    assert link == "monitors"


def test_a_down_heartbeat_alone_links_to_the_heartbeats():
    assert summarize({"up": (2, [])}, {"down": (1, ["Backup"])})[::2] == ("failing", "heartbeats")


@pytest.mark.parametrize(
    "monitors, heartbeats, reason",
    [
        ({"pending": (1, ["API"])}, {}, "1 monitor pending (API)."),
        ({"unreachable": (2, ["A", "B"])}, {}, "2 monitors unreachable (A, B)."),
        ({"paused": (1, ["API"]), "up": (1, [])}, {}, "1 monitor paused (API)."),
        ({}, {"new": (1, ["Backup"])}, "1 heartbeat waiting for a first ping (Backup)."),
        ({}, {"paused": (1, ["Backup"])}, "1 heartbeat paused (Backup)."),
        (
            {"up": (1, [])},
            {"started": (1, ["Backup"]), OVERDUE: (1, ["Backup"])},
            "1 heartbeat started and running too long (Backup).",
        ),
    ],
)
def test_what_is_not_known_to_be_up_needs_attention(monitors, heartbeats, reason):
    assert summarize(monitors, heartbeats)[:2] == ("attention", reason)


def test_a_heartbeat_started_within_its_grace_is_fine():
    assert summarize({}, {"started": (1, ["Backup"])}) == ("ok", "1 heartbeat up.", "heartbeats")


def test_everything_up_is_ok():
    assert summarize({"up": (4, [])}, {"up": (1, [])}) == ("ok", "4 monitors and 1 heartbeat up.", "monitors")


# --- Against the database ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_is_registered_for_the_monitoring_practice(service):
    assert checks.status in scorecard._registry["monitoring"]
    result = scorecard.status("monitoring", service)
    assert result.state == "not set up"
    assert result.url == "/o/acme/monitoring/monitors/new?service=shop-api"


@pytest.mark.django_db
def test_it_fails_when_a_monitor_of_the_service_is_down(service, acme, django_assert_max_num_queries):
    other = Service.objects.create(organization=acme, name="Other", slug="other")
    Monitor.objects.create(
        organization=acme, service=service, name="API", target="https://a.example/", status="down"
    )
    Monitor.objects.create(
        organization=acme, service=service, name="Web", target="https://b.example/", status="up"
    )
    Monitor.objects.create(
        organization=acme, service=other, name="Elsewhere", target="https://c.example/", status="up"
    )
    with django_assert_max_num_queries(6):
        result = checks.status(service)
    assert (result.state, result.reason) == ("failing", "1 monitor down (API).")
    assert result.url == "/o/acme/monitoring/?service=shop-api"
    assert checks.status(other).state == "ok"


@pytest.mark.django_db
def test_a_heartbeat_started_longer_than_its_grace_needs_attention(service, acme):
    now = timezone.now()
    Heartbeat.objects.create(
        organization=acme, service=service, name="Backup", status="started", grace=600,
        last_start=now - timedelta(minutes=11),
    )  # fmt: skip
    Heartbeat.objects.create(
        organization=acme, service=service, name="Report", status="started", grace=600,
        last_start=now - timedelta(minutes=9),
    )  # fmt: skip
    result = checks.status(service)
    assert (result.state, result.reason) == (
        "attention",
        "1 heartbeat started and running too long (Backup).",
    )
    assert result.url == "/o/acme/monitoring/heartbeats/?service=shop-api"


@pytest.mark.django_db
def test_the_overview_shows_the_monitoring_cell(alice_client, service, acme):
    Monitor.objects.create(
        organization=acme, service=service, name="API", target="https://a.example/", status="up"
    )
    html = alice_client.get("/o/acme/").text
    assert "1 monitor up." in html
    assert "/o/acme/monitoring/?service=shop-api" in html
