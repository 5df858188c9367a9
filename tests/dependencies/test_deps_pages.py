"""The dependencies pages: overview, a service's table and trend, proposals; scoped and escaped."""

import pytest
from deps_hub_fixtures import *  # noqa: F403  (the registry and repo_service fixtures)

from keepwell.dependencies import charts, hub
from keepwell.dependencies.models import Proposal, Scan

pytestmark = pytest.mark.django_db


def test_the_overview_lists_each_service_with_its_figures(alice_client, repo_service, acme):
    from keepwell.core.models import Service

    Service.objects.create(organization=acme, name="Unscanned", slug="unscanned")
    hub.scan_service(repo_service)
    page = alice_client.get("/o/acme/dependencies/").content.decode()
    assert "Shop API" in page and "2 major" in page and "1 past" in page
    assert "No repository set." in page


def test_the_service_page_shows_the_table_the_end_of_life_and_the_trend(alice_client, repo_service):
    hub.scan_service(repo_service)
    hub.scan_service(repo_service)
    response = alice_client.get(f"/o/acme/dependencies/s/{repo_service.slug}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "alpha" in page and "yanked" in page and "security hole" in page
    assert 'class="trend-line"' in page and page.count('class="trend-dot"') == 2
    assert "python 3.8" in page and "2024-10-07" in page
    filtered = alice_client.get(f"/o/acme/dependencies/s/{repo_service.slug}/?drift=patch").content.decode()
    assert "beta-pkg" in filtered and ">alpha" not in filtered


def test_a_member_scans_and_proposes_from_the_pages(alice_client, repo_service):
    response = alice_client.post(f"/o/acme/dependencies/s/{repo_service.slug}/scan")
    assert response.status_code == 302 and Scan.objects.get().status == "done"
    response = alice_client.post(
        f"/o/acme/dependencies/s/{repo_service.slug}/proposals/new", {"ecosystem": "npm", "group": "major"}
    )
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.title == "Update left-pad from 1.0.0 to 3.0.0 (npm, major)"
    page = alice_client.get(
        f"/o/acme/dependencies/s/{repo_service.slug}/proposals/{proposal.pk}/"
    ).content.decode()
    assert "left-pad" in page and "Could not be tested" in page
    listing = alice_client.get(f"/o/acme/dependencies/s/{repo_service.slug}/proposals/").content.decode()
    assert proposal.title in listing


def test_a_viewer_may_not_scan(client, victor, repo_service):
    client.force_login(victor)
    assert client.post(f"/o/acme/dependencies/s/{repo_service.slug}/scan").status_code == 403


def test_another_organization_gets_404(charlie_client, repo_service):
    hub.scan_service(repo_service)
    for path in ("", f"s/{repo_service.slug}/", f"s/{repo_service.slug}/proposals/"):
        assert charlie_client.get(f"/o/acme/dependencies/{path}").status_code == 404


def test_it_escapes_what_a_repository_says(alice_client, repo_service):
    with open(f"{repo_service.repository}/package.json", "w") as f:
        f.write('{"name": "x", "dependencies": {"<script>alert(1)</script>": "1.0.0"}}')
    hub.scan_service(repo_service)
    page = alice_client.get(f"/o/acme/dependencies/s/{repo_service.slug}/").content.decode()
    assert "<script>alert(1)</script>" not in page


def test_the_trend_chart_is_drawn_from_the_points():
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    chart = charts.trend_chart([(t0, 4.0), (t0 + timedelta(days=10), 2.0)])
    assert not chart.empty and chart.line == "44.0,38.0 712.0,98.0"  # the axis tops out at 5
    assert [label for _, label in chart.grid] == ["0", "1.25", "2.5", "3.75", "5"]
    assert charts.trend_chart([]).empty
