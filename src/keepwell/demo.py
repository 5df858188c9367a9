"""`keepwell demo`: an organization full of realistic data, so that every page shows something real.

Idempotent: every object is looked up by a natural key first, so running it twice changes nothing. The demo
never sends anything: its one channel is disabled, and its delivery log is history written directly.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

SLUG = "demo"

SERVICES = [
    # slug, name, description, repository, environments
    (
        "shop-api",
        "Shop API",
        "The JSON API behind the shop and the mobile apps.",
        "https://git.example.com/demo/shop-api.git",
        ["staging", "production"],
    ),
    (
        "storefront",
        "Storefront",
        "The public web shop.",
        "https://git.example.com/demo/storefront.git",
        ["staging", "production"],
    ),
    (
        "billing-worker",
        "Billing worker",
        "Charges cards and sends invoices every night.",
        "/srv/repos/billing-worker",
        ["production"],
    ),
    ("docs-site", "Docs site", "docs.example.com, the user manual.", "", ["production"]),
]

# service, source, key, title, severity, state ("open", "acknowledged", "resolved", "snoozed", "reopened").
# The findings of errors, backups, dependencies and security are raised by those apps themselves, from the
# data demo_errors, demo_backups, demo_dependencies and demo_security seed (see TRIAGE below).
FINDINGS = [
    (
        "shop-api",
        "monitoring",
        "monitor:https-health",
        "https://api.example.com/health is down",
        "critical",
        "open",
    ),
    (
        "shop-api",
        "releases",
        "flaky:test_checkout_total",
        "test_checkout_total is flaky (4 of the last 20 runs)",
        "info",
        "open",
    ),
    (
        "storefront",
        "monitoring",
        "monitor:tls-expiry",
        "The TLS certificate of shop.example.com expires in 9 days",
        "warning",
        "open",
    ),
    (
        "storefront",
        "documentation",
        "stale:docs/checkout.md",
        "docs/checkout.md has not changed since checkout did",
        "info",
        "resolved",
    ),
    (
        "billing-worker",
        "monitoring",
        "heartbeat:invoice-run",
        "The heartbeat 'invoice run' is late",
        "warning",
        "snoozed",
    ),
    (
        "docs-site",
        "documentation",
        "broken-link:install.md",
        "docs/install.md links to a page that is gone",
        "info",
        "acknowledged",
    ),
]

RELEASES = [
    # service, version, commit, notes, days ago, environments deployed to
    (
        "shop-api",
        "2.3.0",
        "9f1c2e4",
        "Faster checkout; new /v2/orders endpoint.",
        12,
        ["staging", "production"],
    ),
    (
        "shop-api",
        "2.3.1",
        "a41d07b",
        "Fix rounding of totals in some currencies.",
        3,
        ["staging", "production"],
    ),
    ("shop-api", "2.4.0", "c03e9aa", "Gift cards.", 0, ["staging"]),
    ("storefront", "2026.11.2", "77be310", "New product page.", 5, ["staging", "production"]),
    (
        "billing-worker",
        "1.8.4",
        "5d2f8c1",
        "Retry declined cards once a day for three days.",
        20,
        ["production"],
    ),
]

# Findings the practices raised that the team is on: (service, source, title starts with, note).
TRIAGE = [
    (
        "shop-api",
        "dependencies",
        "stripe 11.4.0 is in use but was yanked",
        "Moving to 11.4.1 in the next release.",
    ),
    ("shop-api", "errors", "Regression in Shop API", "Looking into the currency regression in 2.4.0."),
]

TEAM = [("dana@demo.example", "Dana Demo", "member"), ("victor@demo.example", "Victor Viewer", "viewer")]


def seed(owner=None) -> str:
    """Create the demo organization (or fill in what is missing) and return a one-line summary."""
    from keepwell.core.models import Organization

    with transaction.atomic():
        org, created = Organization.objects.get_or_create(slug=SLUG, defaults={"name": "Demo Inc."})
        owners = _members(org, owner)
        services = _services(org)
        channel = _alerting(org, services)
        _releases(services)
    # Findings go through the real findings API, outside the transaction, so that its events fire as usual.
    new_findings = _findings(services)
    practices = _practices(services)
    _triage(services)
    _delivery_log(org, channel)
    who = ", ".join(sorted(u.email for u in owners)) or "nobody yet (use --owner EMAIL)"
    state = "Created" if created else "Refreshed"
    return (
        f"{state} the demo organization '{SLUG}' ({len(services)} services, {new_findings} new findings; "
        f"{practices}). Owners: {who}."
    )


def _members(org, owner):
    from keepwell.core.models import Membership, Role, User

    # With no --owner, the site's admins own the demo, so `make run` then `keepwell demo` shows it at once.
    owners = [owner] if owner is not None else list(User.objects.filter(is_superuser=True, is_active=True))
    for user in owners:
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": Role.OWNER})
    for email, name, role in TEAM:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, None, name=name)  # no password: cannot sign in
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
    return owners


def _services(org) -> dict:
    from keepwell.core.models import Service

    services = {}
    for slug, name, description, repository, environments in SERVICES:
        services[slug], _ = Service.objects.get_or_create(
            organization=org,
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "repository": repository,
                "environments": environments,
            },
        )
    return services


def _alerting(org, services):
    from keepwell.core.models import Channel, MaintenanceWindow, RoutingRule

    channel, _ = Channel.objects.get_or_create(
        organization=org,
        name="On-call webhook (demo, disabled)",
        defaults={
            "kind": Channel.Kind.WEBHOOK,
            "target": "https://hooks.example.com/keepwell/demo",
            "enabled": False,
        },
    )
    rule, created = RoutingRule.objects.get_or_create(
        organization=org,
        name="Warnings and worse to on-call",
        defaults={"min_severity": "warning", "escalate_after": 900, "renotify_every": 3600},
    )
    if created:
        rule.channels.add(channel)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    next_saturday = now + timedelta(days=(5 - now.weekday()) % 7 or 7)
    MaintenanceWindow.objects.get_or_create(
        organization=org,
        title="Database upgrade",
        defaults={
            "service": services["shop-api"],
            "starts_at": next_saturday.replace(hour=2),
            "ends_at": next_saturday.replace(hour=4),
        },
    )
    MaintenanceWindow.objects.get_or_create(
        organization=org,
        title="Nightly billing run",
        defaults={
            "service": services["billing-worker"],
            "starts_at": (now - timedelta(days=30)).replace(hour=1),
            "ends_at": (now - timedelta(days=30)).replace(hour=1, minute=30),
            "recurrence": MaintenanceWindow.Recurrence.DAILY,
        },
    )
    return channel


def _releases(services):
    from keepwell.core.models import Deploy, Release

    now = timezone.now()
    for slug, version, commit, notes, days_ago, environments in RELEASES:
        when = now - timedelta(days=days_ago, hours=2)
        release, created = Release.objects.get_or_create(
            service=services[slug],
            version=version,
            defaults={"commit": commit, "notes": notes, "created": when},
        )
        if created:
            for i, environment in enumerate(environments):
                Deploy.objects.create(
                    release=release,
                    environment=environment,
                    deployed_at=when + timedelta(hours=1 + 20 * i),
                    deployed_by="ci",
                )


def _findings(services) -> int:
    from keepwell.core import findings
    from keepwell.core.models import Finding

    new = 0
    for slug, source, key, title, severity, state in FINDINGS:
        service = services[slug]
        if Finding.objects.filter(service=service, source=source, key=key).exists():
            continue
        new += 1
        finding = findings.raise_finding(service, source=source, key=key, title=title, severity=severity)
        if state == "acknowledged":
            findings.acknowledge(finding, note="demo")
        elif state == "resolved":
            findings.resolve_finding(service, source=source, key=key, note="demo")
        elif state == "snoozed":
            findings.snooze(finding, timezone.now() + timedelta(hours=8))
        elif state == "reopened":
            findings.resolve_finding(service, source=source, key=key, note="demo")
            findings.raise_finding(service, source=source, key=key, title=title, severity=severity)
        if state in ("open", "reopened"):
            # A problem seen again and again, as a real one would be.
            for _ in range(3):
                findings.raise_finding(service, source=source, key=key, title=title, severity=severity)
    return new


def _practices(services) -> str:
    """Seed errors, backups, dependencies and security through their own apps; say what was added."""
    from keepwell import demo_backups, demo_dependencies, demo_errors, demo_security

    now = timezone.now()
    events = demo_errors.seed(services, now)
    runs = demo_backups.seed(services, now)
    scans = demo_dependencies.seed(services, now)
    secured = demo_security.seed(services, now)
    return (
        f"{events} new error events, {runs} new backup runs, {scans} new dependency scans, "
        f"{secured} new security scans"
    )


def _triage(services) -> None:
    """Acknowledge the practices' findings the team is on, once: a finding acknowledged before is left as is."""
    from keepwell.core import findings
    from keepwell.core.models import Finding

    for slug, source, title, note in TRIAGE:
        finding = (
            Finding.objects.filter(service=services[slug], source=source, title__startswith=title)
            .order_by("id")
            .first()
        )
        if finding is not None and not finding.events.filter(kind="acknowledged").exists():
            findings.acknowledge(finding, note=note)


def _delivery_log(org, channel):
    from keepwell.core.models import Delivery, Finding, Notification

    if Notification.objects.filter(organization=org).exists():
        return
    now = timezone.now()
    history = [
        (
            "opened",
            "sent",
            "",
            Finding.objects.filter(organization=org, severity="critical", state="resolved"),
        ),
        (
            "resolved",
            "sent",
            "",
            Finding.objects.filter(organization=org, severity="critical", state="resolved"),
        ),
        (
            "opened",
            "failed",
            "HTTP 502 from hooks.example.com after 6 attempts",
            Finding.objects.filter(organization=org, severity="critical", state="acknowledged"),
        ),
        ("opened", "held", "", Finding.objects.filter(organization=org, state="open", severity="warning")),
    ]
    for minutes, (event, status, error, related) in zip((180, 120, 60, 5), history, strict=True):
        related = list(related[:3])
        subject = f"[{org.slug}] {event}: " + (related[0].title if related else "demo notification")
        sent_at = now - timedelta(minutes=minutes)
        notification = Notification.objects.create(
            organization=org,
            channel=channel,
            event=event,
            subject=subject[:300],
            body="\n".join(f.title for f in related) or "demo",
            status=status,
            attempts=6 if error else 1,
            last_error=error,
            created=sent_at,
            sent_at=sent_at if status == "sent" else None,
        )
        notification.findings.set(related)
        if status != "held":
            Delivery.objects.create(
                notification=notification,
                attempted_at=sent_at,
                ok=status == "sent",
                response=error or "HTTP 200",
                duration_ms=140,
            )
