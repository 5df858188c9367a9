"""`keepwell demo` seeds errors, backups, dependencies and security through their own apps, once."""

import pytest
from django.apps import apps
from django.test import Client

from keepwell import demo
from keepwell.core.models import Finding, Organization, User
from keepwell.core.scorecard import OK

pytestmark = pytest.mark.django_db

# The tables the four practices fill, and core's that they touch.
MODELS = [
    "errors.Dsn",
    "errors.ErrorGroup",
    "errors.ErrorEvent",
    "errors.GroupTag",
    "errors.GroupHour",
    "errors.SessionBucket",
    "backups.Repository",
    "backups.Plan",
    "backups.Run",
    "backups.StorageSample",
    "dependencies.Scan",
    "dependencies.ScannedDependency",
    "dependencies.RuntimeStatus",
    "dependencies.Proposal",
    "security.VulnerabilityScan",
    "security.ServiceVulnerability",
    "security.VexDecision",
    "security.PostureResult",
    "security.SecretScan",
    "security.FixDeadline",
    "core.Finding",
    "core.FindingEvent",
    "core.Release",
]


def counts() -> dict:
    return {name: apps.get_model(name).objects.count() for name in MODELS}


@pytest.fixture
def owner():
    return User.objects.create_user("owner@example.org", "correct horse battery staple")


@pytest.fixture
def seeded(owner):
    demo.seed(owner=owner)
    return Organization.objects.get(slug=demo.SLUG)


@pytest.fixture
def client(owner, seeded):
    c = Client()
    c.force_login(owner)
    return c


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_it_seeds_each_practice_with_rows_and_changes_nothing_when_run_again(owner, seeded):
    before = counts()
    assert all(before.values()), {k: v for k, v in before.items() if not v}
    demo.seed(owner=owner)
    assert counts() == before


def test_it_covers_every_severity_in_every_state_with_the_practices_findings(seeded):
    states = set(Finding.objects.filter(organization=seeded).values_list("severity", "state"))
    assert states >= {
        (sev, st) for sev in ("info", "warning", "critical") for st in ("open", "acknowledged", "resolved")
    }
    sources = set(Finding.objects.filter(organization=seeded).values_list("source", flat=True))
    assert sources >= {"errors", "backups", "dependencies", "security"}


def test_the_errors_page_shows_the_groups_processed_from_sentry_events(client, seeded):
    from keepwell.errors.health import release_health
    from keepwell.errors.models import ErrorGroup

    html = page(client, "/o/demo/errors/?service=shop-api&status=")
    assert "KeyError: &#x27;total&#x27;" in html or "KeyError: 'total'" in html
    shop = seeded.services.get(slug="shop-api")
    groups = {g.title: g for g in ErrorGroup.objects.filter(service=shop)}
    currency = groups["ValueError: Invalid currency code: 'XBT'"]
    assert (currency.status, currency.regressed, currency.last_release) == ("unresolved", True, "2.4.0")
    assert (
        groups['OperationalError: could not obtain lock on row in relation "shop_stock"'].status == "resolved"
    )
    assert groups["Gift card balance lookup took 4.8 s"].status == "ignored"
    checkout = groups["KeyError: 'total'"]
    assert (checkout.count, checkout.last_release) == (14, "2.3.1")
    event = checkout.events.first()
    assert "Invalid" not in page(client, f"/o/demo/errors/{checkout.pk}/")
    detail = page(client, f"/o/demo/errors/{checkout.pk}/events/{event.event_id}/")
    assert "shop.checkout" in detail and "create_order" in detail and "Gift cards come without" in detail
    health = release_health(shop, "2.3.1")
    assert 0 < health["crash_free_sessions"] < 100
    finding = Finding.objects.get(service=shop, source="errors", key=f"group:{currency.pk}")
    assert (finding.severity, finding.state) == ("critical", "acknowledged")
    assert seeded.services.get(slug="docs-site").dsns.count() == 1


def test_the_backups_pages_show_the_plan_its_runs_and_the_drill(client, seeded):
    from keepwell.backups import checks
    from keepwell.backups.models import Plan, Run

    html = page(client, "/o/demo/backups/?service=shop-api")
    assert "Orders database" in html
    plan = Plan.objects.get(service__slug="shop-api", name="Orders database")
    detail = page(client, f"/o/demo/backups/plans/{plan.pk}/")
    assert "rows in orders" in detail
    runs = plan.runs.order_by("created")
    failed = runs.get(state=Run.State.FAILED)
    assert "the database system is in recovery mode" in page(client, f"/o/demo/backups/runs/{failed.pk}/")
    good = list(runs.filter(kind=Run.Kind.BACKUP, state=Run.State.SUCCEEDED))
    sizes = [r.total_size for r in good]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert "order_lines" in page(client, f"/o/demo/backups/runs/{good[-1].pk}/")
    assert runs.get(kind=Run.Kind.DRILL).state == Run.State.SUCCEEDED
    backup_failed = Finding.objects.get(
        service=plan.service, source="backups", key=f"plan:{plan.pk}:backup-failed"
    )
    assert (backup_failed.severity, backup_failed.state) == ("critical", "resolved")
    assert checks.status(plan.service).state == OK, checks.status(plan.service)


def test_the_dependencies_page_shows_the_scan_the_trend_and_the_proposals(client, seeded):
    from keepwell.dependencies.models import Proposal, Scan

    html = page(client, "/o/demo/dependencies/s/shop-api/")
    assert "requests" in html and "stripe" in html
    shop = seeded.services.get(slug="shop-api")
    scans = list(Scan.objects.filter(service=shop).order_by("created"))
    assert len(scans) == 5
    libyears = [s.total_libyears for s in scans]
    assert libyears == sorted(libyears) and libyears[0] < libyears[-1]
    latest = scans[-1]
    stripe = latest.rows.get(name="stripe")
    assert stripe.yanked and (stripe.drift, stripe.latest) == ("patch", "11.4.1")
    assert latest.rows.get(name="django").drift == "major"
    assert latest.rows.get(name="requests").libyears > 0
    assert latest.runtimes.filter(product="django", cycle="4.2").exists()
    keys = set(Finding.objects.filter(service=shop, source="dependencies").values_list("key", flat=True))
    assert "yanked:PyPI:stripe:11.4.0" in keys
    statuses = {p.status: p for p in Proposal.objects.filter(service=shop)}
    assert set(statuses) == {"passed", "failed"}
    failed = statuses["failed"]
    assert "1 failed, 411 passed" in page(client, f"/o/demo/dependencies/s/shop-api/proposals/{failed.pk}/")
    assert "Minor and patch updates" in page(client, "/o/demo/dependencies/s/shop-api/proposals/")


def test_the_security_page_shows_the_matched_vulnerabilities_the_vex_decision_and_posture(client, seeded):
    from keepwell.security.models import PostureResult, ServiceVulnerability

    html = page(client, "/o/demo/security/services/shop-api/")
    assert "PYSEC-2024-56" in html and "PYSEC-2023-212" in html
    shop = seeded.services.get(slug="shop-api")
    rows = {r.osv_id: r for r in ServiceVulnerability.objects.filter(service=shop)}
    assert set(rows) == {"PYSEC-2024-56", "PYSEC-2024-70", "PYSEC-2024-102", "PYSEC-2023-212"}
    assert rows["PYSEC-2024-70"].state == "not_affected"
    assert rows["PYSEC-2023-212"].severity == "medium" and rows["PYSEC-2023-212"].fixed_in == "2.0.7"
    assert rows["PYSEC-2024-56"].package_fixed_in == "4.2.16"
    open_keys = set(
        Finding.objects.filter(service=shop, source="security")
        .exclude(state="resolved")
        .values_list("key", flat=True)
    )
    assert f"vuln:{rows['PYSEC-2024-56'].pk}" in open_keys
    assert f"vuln:{rows['PYSEC-2024-70'].pk}" not in open_keys
    grades = dict(PostureResult.objects.values_list("service__slug", "grade"))
    assert grades["shop-api"] < grades["storefront"]  # "A+" before "F"
    assert "https://shop.example.com/" in page(client, "/o/demo/security/services/storefront/")


def test_the_overview_answers_with_every_practice_set_up(client, seeded):
    from keepwell.core.scorecard import NOT_SET_UP, status

    shop = seeded.services.get(slug="shop-api")
    # Error tracking reports in the scorecard's monitoring column.
    for name in ("monitoring", "backups", "dependencies", "security"):
        assert status(name, shop).state != NOT_SET_UP, (name, status(name, shop))
    html = page(client, "/o/demo/s/shop-api/")
    assert "Orders database" in html or "last good backup" in html.lower()
