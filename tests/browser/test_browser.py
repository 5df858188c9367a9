"""A real Chromium signs in, adds a service and a webhook channel, sends a test, and acknowledges a finding.

It also takes the screenshots the manual and the README show (docs/screenshots/*.png).
"""

import os
import shutil
from pathlib import Path

import pytest

from keepwell.core.findings import raise_finding
from keepwell.core.models import Channel, Finding, Service

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test does).")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 860}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    # A Content-Security-Policy violation or a script error shows up here.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page
    context.close()
    assert not errors, errors


def test_it_signs_in_sets_up_alerting_and_acknowledges_a_finding(
    page, live_server, alice, acme, webhook_receiver
):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(live_server.url + "/")
    # Signed out: the sign-in page.
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()

    # Add a service from the empty overview.
    page.get_by_role("link", name="Add your first service").click()
    page.get_by_label("Name").fill("Shop API")
    page.get_by_label("Slug").fill("shop-api")
    page.get_by_label("Repository").fill("https://git.example.org/acme/shop-api.git")
    page.get_by_label("Environments").fill("staging, production")
    page.get_by_role("button", name="Add service").click()
    expect(page.get_by_role("heading", name="Shop API", exact=True)).to_be_visible()
    service = Service.objects.get(organization=acme, slug="shop-api")
    assert service.environments == ["staging", "production"]

    # Add a webhook channel and send it a test.
    page.get_by_role("navigation", name="Acme").get_by_role("link", name="Alerting").click()
    page.get_by_role("link", name="Add channel").click()
    page.get_by_label("Name").fill("Ops webhook")
    page.get_by_label("Kind").select_option("webhook")
    page.get_by_label("Target").fill(webhook_receiver.url)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Ops webhook")).to_be_visible()
    page.get_by_role("button", name="Send test").click()
    channel = Channel.objects.get(organization=acme)
    expect(page.locator(f"#test-result-{channel.pk}")).to_contain_text("Sent")
    assert len(webhook_receiver.requests) == 1
    page.screenshot(path=SCREENSHOTS / "channels.png")

    # A practice finds a problem; acknowledge it from the inbox (htmx swaps the row in place).
    finding = raise_finding(
        service, source="monitoring", key="uptime:1", title="shop-api is down", severity="critical"
    )
    raise_finding(
        service, source="security", key="osv:GHSA-1", title="lodash 4.17.20 has a known vulnerability"
    )
    web = Service.objects.create(
        organization=acme, name="Website", slug="website", environments=["production"]
    )
    raise_finding(
        web,
        source="documentation",
        key="stale:README",
        title="README.md not reviewed in 14 months",
        severity="info",
    )
    Service.objects.create(organization=acme, name="Billing worker", slug="billing-worker")
    page.get_by_role("navigation", name="Acme").get_by_role("link", name="Findings").click()
    row = page.locator(f"#finding-{finding.pk}")
    expect(row).to_contain_text("Open")
    page.screenshot(path=SCREENSHOTS / "findings.png", full_page=True)
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#finding-{finding.pk}")).to_contain_text("Acknowledged.")
    finding.refresh_from_db()
    assert finding.state == "acknowledged" and finding.acknowledged_by == alice

    page.goto(f"{live_server.url}/o/acme/s/shop-api/")
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "service.png", full_page=True)
    page.goto(f"{live_server.url}/o/acme/")
    expect(page.get_by_role("table")).to_contain_text("Website")
    page.screenshot(path=SCREENSHOTS / "overview.png", full_page=True)
    assert Finding.objects.get(pk=finding.pk).state == "acknowledged"


def test_the_pages_work_by_keyboard(page, live_server, alice, acme):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/o/acme/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
