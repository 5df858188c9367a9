"""The demo's security: known vulnerabilities matched by the security app, a VEX decision, posture grades.

The advisories below are real OSV records (trimmed to what matching needs) from the PyPI database. The
security app's own matcher (`scan.check`) finds which of the demo's pinned dependencies they affect, and
`vulnerabilities.record` stores them with their findings and fix-by dates, as a scan against the local OSV
database would; `record_vex` applies the team's decision. The web posture grades come from
`posture.grade` applied to the headers and TLS versions a probe would have seen. Nothing is fetched.
"""

from datetime import timedelta

from django.db import transaction

ADVISORIES = [
    {
        "id": "PYSEC-2024-56",
        "aliases": ["CVE-2024-38875"],
        "published": "2024-07-10T05:15:00Z",
        "modified": "2024-07-10T11:20:07.495359Z",
        "details": "An issue was discovered in Django 4.2 before 4.2.14 and 5.0 before 5.0.7. urlize and "
        "urlizetrunc were subject to a potential denial of service attack via certain inputs with a very large "
        "number of brackets.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "django", "purl": "pkg:pypi/django"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "4.2"},
                            {"fixed": "4.2.14"},
                            {"introduced": "5.0"},
                            {"fixed": "5.0.7"},
                        ],
                    }
                ],
            }
        ],
    },
    {
        "id": "PYSEC-2024-70",
        "aliases": ["CVE-2024-42005"],
        "published": "2024-08-07T15:15:00Z",
        "modified": "2024-08-07T17:22:10.804411Z",
        "details": "An issue was discovered in Django 5.0 before 5.0.8 and 4.2 before 4.2.15. QuerySet.values() "
        "and values_list() methods on models with a JSONField are subject to SQL injection in column aliases "
        "via a crafted JSON object key as a passed *arg.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "django", "purl": "pkg:pypi/django"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "5.0"},
                            {"fixed": "5.0.8"},
                            {"introduced": "4.2"},
                            {"fixed": "4.2.15"},
                        ],
                    }
                ],
            }
        ],
    },
    {
        "id": "PYSEC-2024-102",
        "aliases": ["CVE-2024-45230"],
        "published": "2024-10-08T16:15:00Z",
        "modified": "2024-10-08T19:19:01.400873Z",
        "details": "An issue was discovered in Django 5.1 before 5.1.1, 5.0 before 5.0.9, and 4.2 before 4.2.16. "
        "The urlize() and urlizetrunc() template filters are subject to a potential denial-of-service attack "
        "via very large inputs with a specific sequence of characters.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "django", "purl": "pkg:pypi/django"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "5.1"},
                            {"fixed": "5.1.1"},
                            {"introduced": "5.0"},
                            {"fixed": "5.0.9"},
                            {"introduced": "4.2"},
                            {"fixed": "4.2.16"},
                        ],
                    }
                ],
            }
        ],
    },
    {
        "id": "PYSEC-2023-212",
        "aliases": ["CVE-2023-45803", "GHSA-g4mx-q9vg-27p4"],
        "published": "2023-10-17T20:15:00Z",
        "modified": "2023-10-25T18:28:34.811764Z",
        "details": "urllib3 is a user-friendly HTTP client library for Python. urllib3 previously wouldn't "
        "remove the HTTP request body when an HTTP redirect response using status 301, 302, or 303 after the "
        "request had its method changed from one that could accept a request body (like `POST`) to `GET` as "
        "is required by HTTP RFCs.",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "urllib3", "purl": "pkg:pypi/urllib3"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "2.0.0"},
                            {"fixed": "2.0.7"},
                            {"introduced": "0"},
                            {"fixed": "1.26.18"},
                        ],
                    }
                ],
            }
        ],
    },
]

# The team looked at the SQL injection: the shop never passes request data as values() arguments.
VEX = {
    "vulnerability": "CVE-2024-42005",
    "state": "not_affected",
    "justification": "code_not_reachable",
    "detail": "shop-api never calls values() or values_list() with keys that come from a request; checked "
    "with grep in every release since 2.1.",
}

STRICT = {
    "strict-transport-security": ["max-age=63072000; includeSubDomains; preload"],
    "content-security-policy": [
        "default-src 'self'; img-src 'self' https://cdn.example.com; frame-ancestors 'none'"
    ],
    "x-content-type-options": ["nosniff"],
    "x-frame-options": ["DENY"],
    "referrer-policy": ["strict-origin-when-cross-origin"],
    "set-cookie": ["sessionid=abc; Secure; HttpOnly; SameSite=Lax; Path=/"],
}
LAX = {
    "set-cookie": ["cart=7f3a; Path=/"],
    "x-frame-options": ["SAMEORIGIN"],
}
# service, URL, headers seen, TLS versions offered, days until the certificate expires
POSTURE = [
    ("shop-api", "https://api.example.com/health", STRICT, {"TLSv1.2": True, "TLSv1.3": True}, 61),
    (
        "storefront",
        "https://shop.example.com/",
        LAX,
        {"TLSv1": True, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True},
        9,
    ),
]
SECRETS_SCANS = {"shop-api": 214, "storefront": 388}  # files scanned, nothing found


class _Advisories:
    """A stand-in for the OSV index holding the advisories above: what `scan.check` asks of a database."""

    label = "demo advisories"

    def __init__(self, records):
        from keepwell.security.osv import records as osv_records
        from keepwell.security.osv.match import Record

        self.by_name: dict[tuple[str, str], list] = {}
        for raw in records:
            advisory = osv_records.parse(raw)
            for affected in advisory.affected:
                rating = advisory.rating
                self.by_name.setdefault((affected.ecosystem, affected.name), []).append(
                    Record(
                        id=advisory.id,
                        group=advisory.id,
                        aliases=tuple(advisory.aliases),
                        summary=advisory.summary,
                        severity=rating.severity,
                        score=rating.score,
                        vector=rating.vector,
                        published=advisory.published,
                        modified=advisory.modified,
                        entries=(affected.compact(),),
                    )
                )

    def lookup(self, ecosystem: str, names) -> dict:
        return {n: self.by_name[(ecosystem, n)] for n in names if (ecosystem, n) in self.by_name}


def _dependencies(slug: str) -> list:
    from .demo_dependencies import dependencies

    return dependencies(slug)


def _vulnerabilities(service, now) -> None:
    from keepwell.security import vulnerabilities
    from keepwell.security.models import VulnerabilityScan
    from keepwell.security.scan import ScanReport, check

    db = _Advisories(ADVISORIES)
    dependencies = _dependencies(service.slug)
    report = ScanReport(root=f"demo/{service.slug}", database=db.label, dependencies=dependencies)
    report.found = check(dependencies, db)
    scan_row = VulnerabilityScan.objects.create(
        organization_id=service.organization_id,
        service=service,
        started=now - timedelta(hours=4),
        database_built_at=(now - timedelta(hours=7)).replace(microsecond=0).isoformat(),
    )
    vulnerabilities.record(service, report, scan_row)
    if any(VEX["vulnerability"] in f.vulnerability.aliases for f in report.found):
        vulnerabilities.record_vex(service, author=None, package="django", **VEX)


def _posture(service, url, headers, tls, cert_days, now) -> None:
    from keepwell.security import findings, posture, scanning
    from keepwell.security.models import PostureResult

    obs = posture.Observation(
        url=url,
        now=now - timedelta(hours=2),
        headers=headers,
        status_code=200,
        tls_versions=tls,
        cert_not_after=now + timedelta(days=cert_days),
        final_url=url,
    )
    graded = posture.grade(obs)
    result = PostureResult.objects.create(
        organization_id=service.organization_id,
        service=service,
        url=url,
        url_hash=PostureResult.hash_url(url),
        checked_at=obs.now,
        score=graded.score,
        grade=graded.grade,
        reasons=[r.as_dict() for r in graded.reasons],
        tls_versions=obs.tls_versions,
        cert_not_after=obs.cert_not_after,
        status_code=obs.status_code,
    )
    severity = scanning.posture_severity(result)
    if severity:
        # As scanning.probe_url reports it (that function probes the URL itself, which the demo never does).
        worst = sorted((r for r in graded.reasons if r.modifier < 0), key=lambda r: r.modifier)[:3]
        findings.report(
            service,
            key=result.finding_key,
            title=f"Web posture of {url[:200]}: grade {result.grade}",
            severity=severity,
            url=scanning.service_url(service),
            detail="\n".join(f"{r.modifier:+d} {r.text}" for r in worst),
        )


def seed(services: dict, now) -> int:
    """Record the demo's vulnerability scans, posture grades and secrets scans; return the services seeded."""
    from keepwell.security.models import SecretScan, VulnerabilityScan

    made = 0
    for slug in ("shop-api", "storefront"):
        service = services[slug]
        if VulnerabilityScan.objects.filter(service=service).exists():
            continue
        with transaction.atomic():
            _vulnerabilities(service, now)
            for s, url, headers, tls, cert_days in POSTURE:
                if s == slug:
                    _posture(service, url, headers, tls, cert_days, now)
            SecretScan.objects.create(
                organization_id=service.organization_id,
                service=service,
                status=SecretScan.Status.DONE,
                started=now - timedelta(hours=3),
                finished=now - timedelta(hours=3) + timedelta(seconds=8),
                files_scanned=SECRETS_SCANS[slug],
            )
            made += 1
    return made
