"""Known vulnerabilities: /services/{slug}/vulnerabilities, vulnerability-scans, vex and sbom."""

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from keepwell.core.api.base import NO_NUL, Id, Page, Text, errors, get_or_404, invalid, require
from keepwell.core.api.services import service_or_404

from . import sbom, vulnerabilities
from .models import ServiceVulnerability, VexDecision, VulnerabilityScan

router = Router(tags=["security"])

SeverityName = Literal["critical", "high", "medium", "low", "unknown"]
StateName = Literal["affected", "under_investigation", "not_affected", "false_positive", "fixed", "open"]
VexState = Literal["affected", "not_affected", "under_investigation", "false_positive"]
Justification = Literal[sbom.JUSTIFICATIONS]  # type: ignore[valid-type]
VulnId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
    ),
]
PackageName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300, pattern=NO_NUL)]


class VulnerabilityOut(Schema):
    id: int
    service: str
    package: str
    ecosystem: str
    version: str
    osv_id: str
    aliases: list[str]
    severity: str
    cvss_score: float | None
    cvss_vector: str
    fixed_in: str | None = Field(
        description="The smallest version that clears this vulnerability; null: no fix."
    )
    package_fixed_in: str | None = Field(description="The smallest version that clears all of the package's.")
    summary: str
    source_file: str
    source_line: int | None
    first_seen: datetime
    last_seen: datetime
    state: str
    url: str

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug

    @staticmethod
    def resolve_fixed_in(obj):
        return obj.fixed_in or None

    @staticmethod
    def resolve_package_fixed_in(obj):
        return obj.package_fixed_in or None


class ScanOut(Schema):
    id: int
    status: str
    error: str
    started: datetime
    finished: datetime | None
    dependencies: int
    unpinned: int
    found: int
    database_built_at: str


class VexIn(Schema):
    vulnerability: VulnId = Field(
        description="An OSV id or any alias, e.g. GHSA-xxxx-xxxx-xxxx or CVE-2024-1234."
    )
    package: PackageName = Field(
        "", description="The package it is about; empty for every package it affects."
    )
    state: VexState
    justification: Justification | None = Field(
        None, description="Why it does not affect the service (CycloneDX's words); required for not_affected."
    )
    detail: Text = ""


class VexOut(Schema):
    id: int
    vulnerability: str
    package: str
    state: str
    justification: str
    detail: str
    author: str | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_author(obj):
        return obj.author.email if obj.author_id else None


@router.get(
    "/services/{slug}/vulnerabilities",
    response={200: list[VulnerabilityOut], **errors(401, 404, 422)},
    summary="List a service's known vulnerabilities",
)
@paginate(Page)
def list_vulnerabilities(
    request, slug: str, state: StateName | None = None, severity: SeverityName | None = None
):
    """List the vulnerabilities of the service's dependencies, worst first; `state=open` keeps unresolved ones."""
    service = service_or_404(request, slug)
    queryset = ServiceVulnerability.objects.filter(service=service).select_related("service")
    if state == "open":
        queryset = queryset.filter(state__in=ServiceVulnerability.OPEN_STATES)
    elif state:
        queryset = queryset.filter(state=state)
    if severity:
        queryset = queryset.filter(severity=severity)
    rows = list(queryset.order_by("package", "osv_id", "id"))
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "unknown": 4}
    rows.sort(key=lambda r: rank.get(r.severity, 5))
    return rows


@router.post(
    "/services/{slug}/vulnerability-scans",
    response={202: ScanOut, **errors(401, 403, 404)},
    summary="Scan a service for known vulnerabilities",
)
def start_scan(request, slug: str):
    """Queue a scan of the service's repository against the local OSV database; answers the scan."""
    require(request, "act")
    service = service_or_404(request, slug)
    from .tasks_vulns import scan_service_vulnerabilities

    scan_row = VulnerabilityScan.objects.create(organization=request.org, service=service)
    scan_service_vulnerabilities(service.pk, scan_row.pk)
    scan_row.refresh_from_db()  # done already when jobs run at once; "running" while a worker has it
    return Status(202, scan_row)


@router.get(
    "/services/{slug}/vulnerability-scans",
    response={200: list[ScanOut], **errors(401, 404, 422)},
    summary="List a service's vulnerability scans",
)
@paginate(Page)
def list_scans(request, slug: str):
    """List the service's vulnerability scans, newest first; a failed one says why in `error`."""
    service = service_or_404(request, slug)
    return VulnerabilityScan.objects.filter(service=service).defer("components")


@router.get(
    "/services/{slug}/vex",
    response={200: list[VexOut], **errors(401, 404, 422)},
    summary="List a service's VEX decisions",
)
@paginate(Page)
def list_vex(request, slug: str):
    """List the team's VEX decisions for the service."""
    service = service_or_404(request, slug)
    return VexDecision.objects.filter(service=service).select_related("author")


@router.post(
    "/services/{slug}/vex",
    response={201: VexOut, **errors(401, 403, 404, 422)},
    summary="Record a VEX decision",
)
def create_vex(request, slug: str, payload: VexIn):
    """Record whether a vulnerability affects the service (replacing an earlier decision about the same one)."""
    require(request, "act")
    service = service_or_404(request, slug)
    try:
        decision = vulnerabilities.record_vex(
            service,
            author=request.token.user,
            vulnerability=payload.vulnerability,
            package=payload.package,
            state=payload.state,
            justification=payload.justification or "",
            detail=payload.detail,
        )
    except vulnerabilities.VexError as error:
        raise invalid(error.field, error.message) from None
    return Status(201, decision)


@router.delete(
    "/services/{slug}/vex/{vex_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Withdraw a VEX decision",
)
def delete_vex(request, slug: str, vex_id: Id):
    """Withdraw a VEX decision; the vulnerability counts as affecting the service again."""
    require(request, "act")
    service = service_or_404(request, slug)
    decision = get_or_404(VexDecision.objects.filter(service=service), "VEX decision", vex_id, pk=vex_id)
    decision.delete()
    vulnerabilities.apply_vex(service)
    return Status(204, None)


@router.get(
    "/services/{slug}/sbom",
    response={200: dict, **errors(401, 404)},
    summary="Download a service's SBOM (CycloneDX 1.6 JSON)",
)
def get_sbom(request, slug: str):
    """Return the service's CycloneDX 1.6 SBOM: components with purls, vulnerabilities and VEX analysis."""
    service = service_or_404(request, slug)
    response = HttpResponse(vulnerabilities.sbom_json(service), content_type="application/vnd.cyclonedx+json")
    response["Content-Disposition"] = f'attachment; filename="{service.slug}.cdx.json"'
    return response
