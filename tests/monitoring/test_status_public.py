"""The public status page and its Atom feed: no sign-in, escaped, cached, and fresh when the team posts."""

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from keepwell.core.models import MaintenanceWindow, Service
from keepwell.monitoring import statuspage_cache
from keepwell.monitoring.models import CheckResult, Heartbeat, Incident, Monitor, StatusComponent, StatusPage

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def page(acme, service):
    page = StatusPage.objects.create(organization=acme, slug="acme-status", title="Acme status")
    api = Monitor.objects.create(
        organization=acme, service=service, name="API", target="https://api.example.com", status="up"
    )
    web = Monitor.objects.create(
        organization=acme, service=service, name="Web", target="https://example.com", status="down"
    )
    cron = Heartbeat.objects.create(organization=acme, service=service, name="Nightly", status="up")
    first = StatusComponent.objects.create(page=page, name="Public API", position=1)
    first.monitors.add(api)
    first.heartbeats.add(cron)
    second = StatusComponent.objects.create(page=page, name="Website", position=2)
    second.monitors.add(web)
    page.monitors = {"api": api, "web": web}
    return page


def get(path="/status/acme-status/", client=None):
    return (client or Client()).get(path)


def test_anyone_sees_each_component_with_its_current_state(page):
    response = get()
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme status" in html
    public_api = html.index("Public API")
    website = html.index("Website")
    assert public_api < website, "components are in their chosen order"
    assert "Operational" in html[public_api:website]
    assert "Outage" in html[website:]
    assert "Some systems are down" in html


def test_each_component_has_a_90_day_uptime_bar_from_its_monitors_checks(page):
    now = timezone.now()
    for ok in (True, True, True, False):
        CheckResult.objects.create(monitor=page.monitors["api"], checked_at=now - timedelta(minutes=5), ok=ok)
    html = get().content.decode()
    bars = re.findall(r'<svg class="uptime-bar".*?</svg>', html, re.DOTALL)
    assert len(bars) == 2
    assert bars[0].count("<rect") == 90
    assert bars[0].count('class="day-outage"') == 1, "today: 3 of 4 checks passed"
    assert f"{now:%Y-%m-%d}: 75.00% up" in bars[0]
    assert "75.00% uptime" in html
    assert bars[1].count('class="day-none"') == 90, "the website has no checks yet"


def test_a_page_that_is_unpublished_or_unknown_answers_404(page):
    assert get("/status/no-such-page/").status_code == 404
    page.published = False
    page.save()
    assert get().status_code == 404
    assert get("/status/acme-status/feed.atom").status_code == 404


def test_open_and_recently_resolved_incidents_show_with_their_updates(page):
    now = timezone.now()
    ongoing = Incident.objects.create(page=page, title="Checkout errors")
    ongoing.add_update(
        "investigating", "We are looking into failed payments.", at=now - timedelta(minutes=30)
    )
    ongoing.add_update("identified", "A bad deploy; rolling back.", at=now - timedelta(minutes=10))
    recent = Incident.objects.create(page=page, title="Slow search", started=now - timedelta(days=3))
    recent.add_update("resolved", "Fixed.", at=now - timedelta(days=3))
    old = Incident.objects.create(page=page, title="Ancient outage", started=now - timedelta(days=60))
    old.add_update("resolved", "Long ago.", at=now - timedelta(days=60))
    html = get().content.decode()
    assert "Ongoing incidents" in html and "Checkout errors" in html
    assert html.index("A bad deploy; rolling back.") < html.index("We are looking into failed payments.")
    assert "Slow search" in html
    assert "Ancient outage" not in html


def test_an_incident_alone_turns_the_banner_from_operational(page):
    page.monitors["web"].status = "up"
    page.monitors["web"].save()
    assert "All systems operational" in get().content.decode()
    Incident.objects.create(page=page, title="Payments delayed").add_update("investigating", "Looking.")
    assert "There is an ongoing incident" in get().content.decode()


def test_scheduled_maintenance_of_the_pages_services_shows_and_holds_the_component(page, acme, service):
    now = timezone.now()
    MaintenanceWindow.objects.create(
        organization=acme,
        service=service,
        title="Database upgrade",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    MaintenanceWindow.objects.create(
        organization=acme,
        service=service,
        title="Next week's patching",
        starts_at=now + timedelta(days=7),
        ends_at=now + timedelta(days=7, hours=1),
    )
    other = Service.objects.create(organization=acme, name="Internal", slug="internal")
    MaintenanceWindow.objects.create(
        organization=acme,
        service=other,
        title="Secret internal work",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    html = get().content.decode()
    assert "Database upgrade" in html and "Next week&#x27;s patching" in html
    assert "Secret internal work" not in html, "windows of services not on the page stay private"
    assert "Under maintenance" in html


def test_everything_the_team_wrote_is_escaped_and_the_page_has_no_inline_script_or_style(page):
    page.title = "<script>alert('t')</script>"
    page.save()
    StatusComponent.objects.create(page=page, name="<img src=x onerror=alert(1)>")
    Incident.objects.create(page=page, title="<b>bold</b>").add_update(
        "investigating", "<script>x()</script>"
    )
    html = get().content.decode()
    assert "<img src=x" not in html and "<b>bold</b>" not in html and "<script>x()" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'style="' not in html and "<style" not in html
    assert all(re.match(r'<script src="', tag) for tag in re.findall(r"<script[^>]*>", html))


def test_the_cached_page_holds_nothing_of_the_visitor_who_filled_the_cache(page, alice_client):
    signed_in = get(client=alice_client).content.decode()
    assert "alice@example.org" not in signed_in
    assert "csrfmiddlewaretoken" not in signed_in
    assert get().content == get(client=alice_client).content


def test_a_traffic_spike_costs_a_bounded_number_of_queries(page, django_assert_max_num_queries):
    client = Client()
    with django_assert_max_num_queries(20):
        for _ in range(200):
            assert client.get("/status/acme-status/").status_code == 200
            assert client.get("/status/acme-status/feed.atom").status_code == 200
            assert client.get("/status/no-such-page/").status_code == 404
    with django_assert_max_num_queries(0):
        for _ in range(100):
            client.get("/status/acme-status/")
            client.get("/status/no-such-page/")


def test_while_one_request_rebuilds_a_stale_page_the_crowd_gets_the_stale_copy(
    page, django_assert_num_queries
):
    assert "Database migration" not in get().content.decode()
    Incident.objects.create(page=page, title="Database migration")  # marks the cached copy stale
    lock = statuspage_cache.key("acme-status", "html") + ":lock"
    assert cache.add(lock, 1, 60), "a rebuild is now in progress elsewhere"
    with django_assert_num_queries(0):
        for _ in range(20):
            assert "Database migration" not in get().content.decode()
    cache.delete(lock)
    assert "Database migration" in get().content.decode()


def test_a_page_expired_in_the_cache_is_rebuilt_by_the_next_request(page, settings):
    settings.STATUS_PAGE_CACHE_SECONDS = 0
    assert "Website" in get().content.decode()
    StatusComponent.objects.filter(name="Website").update(name="Web shop")  # no signal: only expiry helps
    assert "Web shop" in get().content.decode()


def test_the_page_says_how_long_it_may_be_cached(page, settings):
    settings.STATUS_PAGE_CACHE_SECONDS = 45
    assert get()["Cache-Control"] == "public, max-age=45"


def test_a_change_by_the_team_shows_at_once_despite_the_cache(page):
    assert "Database migration" not in get().content.decode()
    incident = Incident.objects.create(page=page, title="Database migration")
    assert "Database migration" in get().content.decode()
    incident.add_update("monitoring", "Replicas catching up.")
    assert "Replicas catching up." in get().content.decode()
    StatusComponent.objects.filter(page=page, name="Website").get().delete()
    assert "Website" not in get().content.decode()
    page.slug = "acme"
    page.save()
    assert get().status_code == 404, "the old address stops answering at once"
    assert get("/status/acme/").status_code == 200


def test_the_atom_feed_lists_incidents_with_their_updates_escaped(page):
    Incident.objects.create(page=page, title="Checkout <errors>").add_update(
        "investigating", "Payments & <fail>"
    )
    response = get("/status/acme-status/feed.atom")
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ElementTree.fromstring(response.content)
    assert feed.find(f"{ATOM}title").text == "Acme status: incidents"
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "Checkout <errors> (Investigating)"
    assert "Payments &amp; &lt;fail&gt;" in entry.find(f"{ATOM}summary").text
    assert entry.find(f"{ATOM}id").text.startswith("http://testserver/status/acme-status/#incident-")
