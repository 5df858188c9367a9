"""The dependencies API: a service's dependencies, scans, trend, end-of-life status and update proposals."""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from keepwell.core.api.base import Id, Page, Slug, _text, errors, get_or_404, require
from keepwell.core.api.services import service_or_404

from . import hub, tasks
from .models import Proposal, RuntimeStatus, Scan, ScannedDependency

router = Router(tags=["dependencies"])

Ecosystem = Literal["PyPI", "npm"]
Drift = Literal["major", "minor", "patch", "none"]


class DependencyOut(Schema):
    name: str
    ecosystem: str
    version: str
    specifier: str
    kind: str
    direct: bool
    dev: bool
    source: str
    line: int | None
    latest: str
    latest_allowed: str
    released: datetime | None
    latest_released: datetime | None
    last_release: datetime | None
    libyears: float | None
    behind_major: int
    behind_minor: int
    behind_patch: int
    drift: str
    yanked: bool
    yanked_reason: str
    deprecated: str
    no_release_in_two_years: bool = Field(..., alias="stale")
    error: str


class ScanOut(Schema):
    id: int
    status: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    error: str
    dependencies: int
    total_libyears: float
    median_libyears: float
    major: int
    minor: int
    patch: int
    up_to_date: int
    unknown: int
    yanked: int
    deprecated: int
    eol_past: int
    eol_approaching: int
    read_errors: list[str]

    @staticmethod
    def resolve_read_errors(obj):
        return [str(e) for e in obj.read_errors] if isinstance(obj.read_errors, list) else []


class TrendPoint(Schema):
    scan: int
    scanned_at: datetime
    total_libyears: float
    median_libyears: float
    dependencies: int
    major: int
    minor: int
    patch: int


class RuntimeOut(Schema):
    product: str
    version: str
    cycle: str
    eol: date | None
    status: str
    days_left: int | None
    source: str
    line: int | None
    declared: str


class ProposalOut(Schema):
    id: int
    title: str
    ecosystem: str
    group: str
    changes: list[dict]
    status: str
    mode: str
    branch: str
    patch: str
    edited_files: list[str]
    test_command: str
    exit_code: int | None
    output: str
    error: str
    created: datetime
    started: datetime | None
    finished: datetime | None


class ProposalIn(Schema):
    ecosystem: Ecosystem | None = Field(None, description="Only this ecosystem's updates (PyPI or npm).")
    group: Literal["minor-patch", "major"] | None = Field(
        None, description="Only minor-and-patch groups, or only major updates."
    )


class ProposalList(Schema):
    items: list[ProposalOut]
    count: int


def _latest_or_404(service) -> Scan:
    scan = hub.latest_scan(service)
    if scan is None:
        from ninja.errors import HttpError

        raise HttpError(
            404,
            f"{service.slug} has no finished dependency scan yet. Start one with "
            f"POST /api/v1/services/{service.slug}/dependency-scans.",
        )
    return scan


@router.get(
    "/services/{slug}/dependencies",
    response={200: list[DependencyOut], **errors(401, 404, 422)},
    summary="List a service's dependencies",
)
@paginate(Page)
def list_dependencies(
    request,
    slug: Slug,
    ecosystem: Ecosystem | None = None,
    drift: Drift | None = None,
    q: _text(200) = "",
):
    """List the dependencies found by the service's latest finished scan; filter by ecosystem, drift or name."""
    service = service_or_404(request, slug)
    rows = ScannedDependency.objects.filter(scan=_latest_or_404(service))
    if ecosystem:
        rows = rows.filter(ecosystem=ecosystem)
    if drift:
        rows = rows.filter(drift="" if drift == "none" else drift)
    if q.strip():
        rows = rows.filter(name__icontains=q.strip())
    return rows.order_by("ecosystem", "name", "version", "id")


@router.get(
    "/services/{slug}/dependency-scans",
    response={200: list[ScanOut], **errors(401, 404, 422)},
    summary="List a service's dependency scans",
)
@paginate(Page)
def list_scans(request, slug: Slug):
    """List the service's scans, newest first."""
    service = service_or_404(request, slug)
    return Scan.objects.filter(service=service).order_by("-created", "-id")


@router.post(
    "/services/{slug}/dependency-scans",
    response={202: ScanOut, **errors(401, 403, 404, 422)},
    summary="Scan a service's dependencies now",
)
def start_scan(request, slug: Slug):
    """Queue a scan of the service's repository; its status says when it is done."""
    require(request, "act")
    service = service_or_404(request, slug)
    row = Scan.objects.create(service=service)
    tasks.run_scan(row.pk)
    row.refresh_from_db()
    return Status(202, row)


@router.get(
    "/services/{slug}/dependency-scans/{scan_id}",
    response={200: ScanOut, **errors(401, 404, 422)},
    summary="Get a dependency scan",
)
def get_scan(request, slug: Slug, scan_id: Id):
    """Return one scan of the service with its figures."""
    service = service_or_404(request, slug)
    return get_or_404(Scan.objects.filter(service=service), "dependency scan", scan_id, pk=scan_id)


@router.get(
    "/services/{slug}/dependency-trend",
    response={200: list[TrendPoint], **errors(401, 404, 422)},
    summary="A service's libyears over time",
)
def trend(request, slug: Slug, limit: Annotated[int, Field(ge=1, le=1000)] = 90):
    """Return the figures of the service's last `limit` finished scans, oldest first."""
    service = service_or_404(request, slug)
    scans = list(
        Scan.objects.filter(service=service, status=Scan.Status.DONE).order_by("-created", "-id")[:limit]
    )
    return [
        {
            "scan": s.pk,
            "scanned_at": s.created,
            "total_libyears": s.total_libyears,
            "median_libyears": s.median_libyears,
            "dependencies": s.dependencies,
            "major": s.major,
            "minor": s.minor,
            "patch": s.patch,
        }
        for s in reversed(scans)
    ]


@router.get(
    "/services/{slug}/eol",
    response={200: list[RuntimeOut], **errors(401, 404, 422)},
    summary="End-of-life status of a service's runtimes",
)
def eol_status(request, slug: Slug):
    """Return the runtimes, frameworks and databases of the latest scan with their end of life."""
    service = service_or_404(request, slug)
    return list(RuntimeStatus.objects.filter(scan=_latest_or_404(service)))


@router.get(
    "/services/{slug}/dependency-proposals",
    response={200: list[ProposalOut], **errors(401, 404, 422)},
    summary="List a service's update proposals",
)
@paginate(Page)
def list_proposals(request, slug: Slug):
    """List the service's update proposals, newest first, with their test outcome."""
    service = service_or_404(request, slug)
    return Proposal.objects.filter(service=service).order_by("-created", "-id")


@router.post(
    "/services/{slug}/dependency-proposals",
    response={201: ProposalList, **errors(401, 403, 404, 409, 422)},
    summary="Propose updates for a service",
)
def create_proposals(request, slug: Slug, payload: ProposalIn):
    """Group the outdated direct dependencies of the latest scan into proposals and test each (a job)."""
    require(request, "act")
    service = service_or_404(request, slug)
    _latest_or_404(service)
    created = hub.create_proposals(service, request.token.user, payload.ecosystem, payload.group)
    if not created:
        return Status(
            409, {"detail": f"Nothing to propose: no direct dependency of {service.slug} is outdated."}
        )
    for proposal in created:
        tasks.run_proposal(proposal.pk)
    items = list(Proposal.objects.filter(pk__in=[p.pk for p in created]).order_by("id"))
    return Status(201, {"items": items, "count": len(items)})


@router.get(
    "/services/{slug}/dependency-proposals/{proposal_id}",
    response={200: ProposalOut, **errors(401, 404, 422)},
    summary="Get an update proposal",
)
def get_proposal(request, slug: Slug, proposal_id: Id):
    """Return one proposal: its changes, branch or patch, and the outcome of the service's tests."""
    service = service_or_404(request, slug)
    return get_or_404(
        Proposal.objects.filter(service=service), "update proposal", proposal_id, pk=proposal_id
    )
