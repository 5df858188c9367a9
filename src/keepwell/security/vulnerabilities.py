"""The hub's side of known vulnerabilities: scan a service, keep its vulnerability state, apply VEX, build SBOMs."""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keepwell.core import repositories
from keepwell.core.models import Service
from keepwell.core.repositories import RepositoryError
from keepwell.dependencies.types import Dependency

from . import findings
from .models import ServiceVulnerability, VexDecision, VulnerabilityScan
from .osv import OsvError, Vulnerability, normalize_name
from .scan import open_index, scan

# A VEX decision's state as the vulnerability's state.
VEX_TO_STATE = {
    VexDecision.State.AFFECTED: ServiceVulnerability.State.AFFECTED,
    VexDecision.State.UNDER_INVESTIGATION: ServiceVulnerability.State.UNDER_INVESTIGATION,
    VexDecision.State.NOT_AFFECTED: ServiceVulnerability.State.NOT_AFFECTED,
    VexDecision.State.FALSE_POSITIVE: ServiceVulnerability.State.FALSE_POSITIVE,
}


def service_url(service) -> str:
    return f"/o/{service.organization.slug}/security/services/{service.slug}/"


def decision_for(row: ServiceVulnerability, decisions) -> VexDecision | None:
    """Return the decision that applies to the row: one about its package wins over one about every package."""
    specific = [d for d in decisions if d.package and d.applies_to(row)]
    general = [d for d in decisions if not d.package and d.applies_to(row)]
    return (specific or general or [None])[0]


def _title(row: ServiceVulnerability) -> str:
    fix = f"; fixed in {row.fixed_in}" if row.fixed_in else "; no fix yet"
    what = f": {row.summary}" if row.summary else ""
    return f"{row.package} {row.version} is affected by {row.osv_id}{fix}{what}"


def sync_finding(service, row: ServiceVulnerability) -> None:
    """Raise the row's finding while it is open, clear it otherwise."""
    if row.state in ServiceVulnerability.OPEN_STATES:
        findings.report(
            service,
            key=row.finding_key,
            title=_title(row),
            severity=row.severity,
            first_seen=row.first_seen,
            url=service_url(service),
            detail=f"{row.url}\nDeclared in {row.source_file}"
            + (f":{row.source_line}" if row.source_line else ""),
        )
    else:
        findings.clear(service, key=row.finding_key)


def apply_vex(service) -> int:
    """Recompute the state of the service's present vulnerabilities from its VEX decisions; return changes."""
    decisions = list(VexDecision.objects.filter(service=service))
    changed = 0
    for row in ServiceVulnerability.objects.filter(service=service).exclude(
        state=ServiceVulnerability.State.FIXED
    ):
        decision = decision_for(row, decisions)
        state = VEX_TO_STATE[decision.state] if decision else ServiceVulnerability.State.AFFECTED
        if state != row.state:
            row.state = state
            row.save(update_fields=["state"])
            changed += 1
        sync_finding(service, row)
    return changed


class VexError(ValueError):
    """A VEX decision that cannot be recorded; `field` names what is wrong, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def record_vex(
    service,
    *,
    author,
    vulnerability: str,
    state: str,
    justification: str = "",
    package: str = "",
    detail: str = "",
) -> VexDecision:
    """Record the team's VEX decision about a vulnerability in the service, replacing an earlier one about the
    same vulnerability and package, and apply it to the vulnerability's state and finding.

    Raise VexError (nothing stored) for an unknown state or justification, or not_affected without one.
    """
    from .sbom import JUSTIFICATIONS

    if state not in VexDecision.State.values:
        raise VexError("state", f"Choose a state: {', '.join(VexDecision.State.values)}.")
    justification = justification or ""
    if justification and justification not in JUSTIFICATIONS:
        raise VexError("justification", f"Unknown justification; one of: {', '.join(JUSTIFICATIONS)}.")
    if state == VexDecision.State.NOT_AFFECTED and not justification:
        raise VexError(
            "justification", f"not_affected needs a justification, one of: {', '.join(JUSTIFICATIONS)}."
        )
    now = timezone.now()
    values = {
        "organization": service.organization,
        "state": state,
        "justification": justification,
        "detail": detail,
        "author": author,
    }
    decision, _created = VexDecision.objects.update_or_create(
        service=service,
        vulnerability=vulnerability,
        package=package,
        defaults={**values, "updated_at": now},
        create_defaults={**values, "created_at": now, "updated_at": now},
    )
    apply_vex(service)
    return decision


def _components(dependencies: list[Dependency]) -> list[dict]:
    seen, out = set(), []
    for d in dependencies:
        key = (d.ecosystem, d.name, d.version, d.kind)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {"name": d.name, "ecosystem": d.ecosystem, "version": d.version, "kind": d.kind, "dev": d.dev}
        )
    return out[:50_000]


def record(service, report, scan_row: VulnerabilityScan) -> None:
    """Store what a scan found: update, open and close the service's vulnerabilities and their findings."""
    now = timezone.now()
    decisions = list(VexDecision.objects.filter(service=service))
    seen: set[int] = set()
    touched = []
    with transaction.atomic():
        # One scan of a service records at a time (a scheduled one and one asked for may overlap).
        Service.objects.select_for_update().filter(pk=service.pk).first()
        rows = list(ServiceVulnerability.objects.filter(service=service))
        for found in report.found:
            v = found.vulnerability
            ids = {v.id, *v.aliases}
            package = normalize_name(v.ecosystem, v.package)
            candidates = [
                r
                for r in rows
                if r.ecosystem == v.ecosystem
                and normalize_name(r.ecosystem, r.package) == package
                and r.ids & ids
                and r.pk not in seen
            ]
            # The row already named by this advisory first: two groups that merged keep the one of that name.
            candidates.sort(key=lambda r: r.osv_id != v.id)
            row = candidates[0] if candidates else None
            if row is None:
                row = ServiceVulnerability(
                    organization_id=service.organization_id,
                    service=service,
                    first_seen=now,
                    ecosystem=v.ecosystem,
                )
                rows.append(row)
            elif row.state == ServiceVulnerability.State.FIXED:
                row.first_seen = now  # it came back: the fix-by clock starts again
            location = found.locations[0] if found.locations else None
            row.package = v.package[:300]
            row.version = v.version[:200]
            row.osv_id = v.id[:200]
            row.aliases = v.aliases
            row.severity = v.severity
            row.cvss_score = v.cvss_score
            row.cvss_vector = (v.cvss_vector or "")[:500]
            row.fixed_in = (v.fixed_in or "")[:200]
            row.package_fixed_in = (found.package_fixed_in or "")[:200]
            row.summary = v.summary[:300]
            row.source_file = (location.file if location else "")[:1000]
            row.source_line = location.line if location else None
            row.last_seen = now
            decision = decision_for(row, decisions)
            row.state = VEX_TO_STATE[decision.state] if decision else ServiceVulnerability.State.AFFECTED
            row.save()
            seen.add(row.pk)
            touched.append(row)
        for row in rows:
            if row.pk not in seen and row.state != ServiceVulnerability.State.FIXED:
                row.state = ServiceVulnerability.State.FIXED
                row.save(update_fields=["state"])
                touched.append(row)
        scan_row.status = VulnerabilityScan.Status.DONE
        scan_row.finished = now
        scan_row.dependencies = report.checked
        scan_row.unpinned = len(report.unpinned)
        scan_row.found = len(report.found)
        scan_row.components = _components(report.dependencies)
        scan_row.error = "\n".join(str(e) for e in report.errors)[:5000]
        scan_row.save()
        for row in touched:
            sync_finding(service, row)


def scan_service(service, *, data_dir=None, scan_row: VulnerabilityScan | None = None) -> VulnerabilityScan:
    """Scan the service's repository against the local OSV database; record vulnerabilities and findings."""
    if scan_row is None:
        scan_row = VulnerabilityScan.objects.create(organization_id=service.organization_id, service=service)
    try:
        db = open_index(data_dir=data_dir or settings.DATA_DIR)
        try:
            with repositories.checkout(service) as path:
                scan_row.database_built_at = db.meta().get("built_at", "")[:40]
                report = scan(path, db)
        finally:
            db.close()
    except (RepositoryError, OsvError) as exc:
        scan_row.status, scan_row.error, scan_row.finished = (
            VulnerabilityScan.Status.FAILED,
            str(exc),
            timezone.now(),
        )
        scan_row.save()
        return scan_row
    record(service, report, scan_row)
    return scan_row


def last_scan(service) -> VulnerabilityScan | None:
    return VulnerabilityScan.objects.filter(service=service, status=VulnerabilityScan.Status.DONE).first()


def sbom_json(service) -> str:
    """Return the service's CycloneDX 1.6 SBOM from its last scan, with vulnerabilities and VEX decisions."""
    from . import sbom

    scan_row = last_scan(service)
    components = scan_row.components if scan_row else []
    dependencies = [
        Dependency(
            name=c["name"],
            ecosystem=c["ecosystem"],
            version=c.get("version"),
            kind=c.get("kind", "registry"),
            dev=c.get("dev", False),
        )
        for c in components
    ]
    found = []
    for row in ServiceVulnerability.objects.filter(service=service).exclude(
        state=ServiceVulnerability.State.FIXED
    ):
        vuln = Vulnerability(
            package=row.package,
            ecosystem=row.ecosystem,
            version=row.version,
            id=row.osv_id,
            aliases=list(row.aliases),
            severity=row.severity,
            cvss_score=row.cvss_score,
            cvss_vector=row.cvss_vector,
            summary=row.summary,
            fixed_in=row.fixed_in or None,
        )
        found.append(SimpleNamespace(vulnerability=vuln))
    vex = [d.statement() for d in VexDecision.objects.filter(service=service)]
    return sbom.to_json(sbom.build(service.slug, dependencies, found, vex))
