"""The monitoring pages in a real browser: the kind's options follow the chosen kind, the charts draw under the
Content-Security-Policy, and the ping URL's copy button works."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from keepwell.monitoring import state
from keepwell.monitoring.models import Heartbeat, Monitor

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def page():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test does).")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1360, "height": 900}, color_scheme="light")
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        # A Content-Security-Policy violation or a script error shows up here.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        yield page
        browser.close()
        assert not errors, errors


def test_it_adds_a_monitor_and_draws_its_page(page, live_server, alice, service):
    from playwright.sync_api import expect

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("navigation", name="Acme").get_by_role("link", name="Monitoring").click()
    page.get_by_role("link", name="Add a monitor").click()

    http_options = page.get_by_role("group", name="HTTP(S) options")
    dns_options = page.get_by_role("group", name="DNS options")
    expect(http_options).to_be_visible()
    expect(dns_options).to_be_hidden()
    page.get_by_label("Kind").select_option("dns")
    expect(http_options).to_be_hidden()
    expect(dns_options).to_be_visible()
    page.get_by_label("Kind").select_option("http")

    page.get_by_label("Name", exact=True).fill("Shop health")
    page.get_by_label("Target").fill("https://shop.example.com/health")
    page.get_by_label("Interval").fill("30s")
    page.get_by_label("Expected status codes").fill("2xx")
    page.get_by_role("button", name="Add the monitor").click()
    expect(page.get_by_role("heading", name="Shop health")).to_be_visible()
    monitor = Monitor.objects.get(name="Shop health")
    assert monitor.interval == 30 and monitor.config["expected_statuses"] == ["2xx"]

    now = timezone.now()
    for minutes in range(24 * 60, 0, -10):
        failing = 300 < minutes < 340
        state.record_result(
            monitor,
            ok=not failing,
            latency_ms=None if failing else 120 + (minutes * 7) % 90,
            error="Expected 2xx, got 503" if failing else "",
            at=now - timedelta(minutes=minutes),
        )
    page.reload()
    chart = page.get_by_role("img", name="Latency of Shop health over the last 24 hours", exact=False)
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 100
    expect(page.get_by_role("img", name="Daily uptime of Shop health over the last 90 days")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "monitor.png", full_page=True)

    page.goto(live_server.url + "/o/acme/monitoring/")
    expect(page.get_by_role("link", name="Shop health")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "monitors.png")


def test_it_copies_a_heartbeats_ping_url(page, live_server, alice, service):
    from playwright.sync_api import expect

    heartbeat = Heartbeat.objects.create(
        organization=service.organization, service=service, name="Nightly backup"
    )
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("navigation", name="Acme").wait_for()
    page.goto(live_server.url + "/o/acme/monitoring/heartbeats/")
    button = page.get_by_role("button", name="Copy the ping URL of Nightly backup")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == heartbeat.ping_url
