"""The demo's dependency drift: scans computed by the dependencies app from a registry's answers kept here.

No registry is asked and no repository is read: the dependencies below are what the readers would find,
and the packages their release history as a registry would give it. `keepwell.dependencies.scan.assess`
turns them into the rows a real scan stores, `eol.evaluate` judges the runtimes against the end-of-life data
shipped with keepwell, and `hub.store` and `hub.update_findings` store them and raise the findings. Older
scans (the libyears trend) are the same dependencies assessed as of earlier dates. The update proposals are
stored results: nothing was cloned, written or tested.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

# ecosystem, name: [(version, days before the demo's day it was released)]. Relative, so that the demo always
# has a trend: the newest releases came out between its older scans.
RELEASES = {
    ("PyPI", "django"): [
        ("4.2.13", 940),
        ("4.2.16", 820),
        ("4.2.20", 640),
        ("5.1.4", 730),
        ("5.2", 610),
        ("5.2.8", 75),
        ("5.2.9", 12),
    ],
    ("PyPI", "requests"): [("2.31.0", 1290), ("2.32.3", 920), ("2.32.5", 105)],
    ("PyPI", "urllib3"): [("2.0.6", 1160), ("2.0.7", 1145), ("2.5.0", 52)],
    ("PyPI", "psycopg"): [("3.2.3", 790), ("3.2.10", 85), ("3.2.12", 20)],
    ("PyPI", "stripe"): [("11.3.0", 740), ("11.4.0", 720), ("11.4.1", 713)],
    ("PyPI", "sentry-sdk"): [("2.19.2", 360)],
    ("PyPI", "pytest"): [("7.4.4", 1065), ("8.3.4", 730), ("8.4.1", 95)],
    ("npm", "react"): [("18.2.0", 1630), ("18.3.1", 950), ("19.0.0", 728), ("19.1.0", 40)],
    ("npm", "react-dom"): [("18.2.0", 1630), ("18.3.1", 950), ("19.0.0", 728), ("19.1.0", 40)],
    ("npm", "vite"): [("5.0.10", 1080), ("5.4.11", 750), ("6.0.3", 728), ("7.0.0", 65)],
    ("npm", "lodash"): [("4.17.21", 2110)],
    ("npm", "request"): [("2.88.2", 2480)],
}
YANKED = {
    (
        "PyPI",
        "stripe",
        "11.4.0",
    ): "Withdrawn by its maintainers: a packaging mistake left out a module; use 11.4.1.",
}
DEPRECATED = {
    (
        "npm",
        "request",
        "2.88.2",
    ): "request has been deprecated, see https://github.com/request/request/issues/3142",
}

# service: [(name, ecosystem, version, specifier, direct, dev, source, line)]
DEPENDENCIES = {
    "shop-api": [
        ("django", "PyPI", "4.2.13", ">=4.2,<5", True, False, "requirements.txt", 1),
        ("psycopg", "PyPI", "3.2.3", "==3.2.3", True, False, "requirements.txt", 2),
        ("requests", "PyPI", "2.31.0", "==2.31.0", True, False, "requirements.txt", 3),
        ("stripe", "PyPI", "11.4.0", "==11.4.0", True, False, "requirements.txt", 4),
        ("sentry-sdk", "PyPI", "2.19.2", "==2.19.2", True, False, "requirements.txt", 5),
        ("urllib3", "PyPI", "2.0.6", "", False, False, "requirements.lock", 41),
        ("pytest", "PyPI", "7.4.4", "==7.4.4", True, True, "requirements-dev.txt", 1),
    ],
    "storefront": [
        ("react", "npm", "18.2.0", "^18.2.0", True, False, "package-lock.json", 12),
        ("react-dom", "npm", "18.2.0", "^18.2.0", True, False, "package-lock.json", 20),
        ("lodash", "npm", "4.17.21", "^4.17.21", True, False, "package-lock.json", 31),
        ("request", "npm", "2.88.2", "^2.88.0", True, False, "package-lock.json", 44),
        ("vite", "npm", "5.0.10", "^5.0.0", True, True, "package-lock.json", 57),
    ],
}
# service: [(product, version, source, line, declared)]
RUNTIMES = {
    "shop-api": [
        ("python", "3.11", "pyproject.toml", 6, 'requires-python = ">=3.11"'),
        ("postgresql", "16", "docker-compose.yml", 14, "postgres:16-alpine"),
    ],
    "storefront": [("nodejs", "22", ".nvmrc", 1, "22")],
}
TREND_DAYS = (120, 90, 60, 30)  # the older scans, days ago

PASSED_OUTPUT = """\
============================= test session starts ==============================
collected 412 items

tests/test_orders.py ........................................................ [ 13%]
tests/test_checkout.py ....................................................... [ 27%]
tests/test_payments.py ...................................................... [ 40%]
...
======================= 412 passed in 38.21s ==================================
"""
FAILED_OUTPUT = """\
============================= test session starts ==============================
collected 412 items

tests/test_orders.py ........................................................ [ 13%]
tests/test_checkout.py ..............F........................................ [ 27%]
...
=================================== FAILURES ===================================
__________________________ test_checkout_total_in_yen __________________________

    def test_checkout_total_in_yen(client, cart_in_yen):
        response = client.post("/v1/orders", cart_in_yen, content_type="application/json")
>       assert response.status_code == 201
E       assert 500 == 201

tests/test_checkout.py:88: AssertionError
----------------------------- Captured log call -------------------------------
ERROR    django.request:log.py:241 Internal Server Error: /v1/orders
django.core.exceptions.ImproperlyConfigured: The USE_L10N setting is removed in Django 5.0.
=========================== short test summary info ============================
FAILED tests/test_checkout.py::test_checkout_total_in_yen - assert 500 == 201
================== 1 failed, 411 passed in 41.07s ==============================
"""


def _packages(as_of: datetime, now: datetime) -> dict:
    from keepwell.dependencies.registry import Package, Release

    day = now.replace(hour=12, minute=0, second=0, microsecond=0)
    packages = {}
    for (ecosystem, name), versions in RELEASES.items():
        releases = {}
        for version, days_ago in versions:
            released = day - timedelta(days=days_ago)
            if released > as_of:
                continue  # not released yet at that date
            yanked = YANKED.get((ecosystem, name, version))
            releases[version] = Release(
                version,
                released,
                yanked=yanked is not None,
                yanked_reason=yanked or "",
                deprecated=DEPRECATED.get((ecosystem, name, version), ""),
            )
        newest = max(releases, key=lambda v: releases[v].released) if releases else ""
        packages[(ecosystem, name)] = Package(ecosystem, name, releases, latest_tag=newest)
    return packages


def dependencies(slug: str) -> list:
    """Return the declared dependencies of the demo service `slug`, as the readers would have read them."""
    from keepwell.dependencies.types import Dependency

    return [
        Dependency(
            name=name,
            ecosystem=ecosystem,
            version=version,
            specifier=specifier,
            direct=direct,
            dev=dev,
            source=source,
            line=line,
        )
        for name, ecosystem, version, specifier, direct, dev, source, line in DEPENDENCIES.get(slug, [])
    ]


def report(slug: str, as_of: datetime, now: datetime):
    """Return the scan report the dependencies app computes for `slug` from the releases known at `as_of`."""
    from keepwell.dependencies import eol
    from keepwell.dependencies.runtimes import Runtime
    from keepwell.dependencies.scan import Report, assess

    packages = _packages(as_of, now)
    deps = dependencies(slug)
    out = Report(root=f"demo/{slug}", scanned_at=as_of)
    out.dependencies = [assess(d, packages.get((d.ecosystem, d.name)), as_of) for d in deps]
    runtimes = [Runtime(*row) for row in RUNTIMES.get(slug, [])]
    runtimes += [
        Runtime("django", d.version, d.source, d.line, f"django {d.version}")
        for d in deps
        if d.ecosystem == "PyPI" and d.name == "django"
    ]
    data = eol.load_snapshot()
    out.runtimes = [eol.evaluate(r, data, as_of.date(), settings.DEPS_EOL_WARN_DAYS) for r in runtimes]
    out.requests = len({(d.ecosystem, d.name) for d in deps}) + len(runtimes)
    return out


def _scan(service, as_of: datetime, now: datetime):
    from keepwell.dependencies import hub
    from keepwell.dependencies.models import Scan

    row = Scan.objects.create(service=service, created=as_of, started=as_of)
    hub.store(row, report(service.slug, as_of, now))
    Scan.objects.filter(pk=row.pk).update(finished=as_of + timedelta(seconds=14))
    return row


def _proposals(service, scan_row, now) -> None:
    from keepwell.dependencies import proposals as prop
    from keepwell.dependencies.models import Proposal

    groups = prop.group(scan_row.rows.all())
    minor = next((g for g in groups if g.kind == prop.MINOR_PATCH), None)
    major = next((g for g in groups if g.kind == prop.MAJOR and g.changes[0].name == "django"), None)
    for g, passed, hours in ((minor, True, 30), (major, False, 6)):
        if g is None:
            continue
        files = sorted({c.source for c in g.changes if c.source})
        proposal = Proposal.objects.create(
            service=service,
            ecosystem=g.ecosystem,
            group=g.kind,
            title=g.title[:300],
            changes=[c.as_dict() for c in g.changes],
            status=Proposal.Status.PASSED if passed else Proposal.Status.FAILED,
            mode="branch",
            edited_files=files,
            test_command="pytest -q",
            exit_code=0 if passed else 1,
            output=PASSED_OUTPUT if passed else FAILED_OUTPUT,
            created=now - timedelta(hours=hours),
            started=now - timedelta(hours=hours),
            finished=now - timedelta(hours=hours) + timedelta(minutes=3),
        )
        proposal.branch = f"keepwell/deps-{proposal.pk}"
        proposal.error = f"The branch {proposal.branch} was pushed to the service's repository."
        proposal.save(update_fields=["branch", "error"])


def seed(services: dict, now) -> int:
    """Store a trend of scans, the latest with its findings, and two proposals; return the scans made."""
    from keepwell.dependencies import hub
    from keepwell.dependencies.models import Scan

    made = 0
    for slug in DEPENDENCIES:
        service = services[slug]
        if Scan.objects.filter(service=service).exists():
            continue
        with transaction.atomic():
            for days in TREND_DAYS:
                _scan(service, now - timedelta(days=days), now)
            latest = _scan(service, now - timedelta(hours=5), now)
            hub.update_findings(service, latest)
            if slug == "shop-api":
                _proposals(service, latest, now)
            made += len(TREND_DAYS) + 1
    return made
