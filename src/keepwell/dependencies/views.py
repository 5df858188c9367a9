"""The dependencies pages: the organization's overview, a service's table and trend, update proposals."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Service

from . import charts, hub, tasks
from .models import Proposal, Scan, ScannedDependency

PER_PAGE = 100
TREND_POINTS = 90
DRIFTS = ("major", "minor", "patch")


def _service(request, slug) -> Service:
    return get_object_or_404(Service, organization=request.org, slug=slug)


@org_view("view")
def overview(request, org_slug):
    """List the organization's services with libyears, drift counts and end-of-life problems."""
    newest = (
        Scan.objects.filter(service=OuterRef("pk"), status=Scan.Status.DONE)
        .order_by("-created", "-id")
        .values("id")
    )
    services = list(
        Service.objects.filter(organization=request.org)
        .annotate(latest_scan=Subquery(newest[:1]))
        .order_by("name", "id")
    )
    latest = Scan.objects.in_bulk([s.latest_scan for s in services if s.latest_scan])
    rows = [(s, latest.get(s.latest_scan)) for s in services]
    return render(request, "dependencies/overview.html", {"rows": rows})


@org_view("view")
def service_page(request, org_slug, service_slug):
    """Show a service's dependencies from its latest scan, its runtimes' end of life and the libyears trend."""
    service = _service(request, service_slug)
    scan = hub.latest_scan(service)
    last = Scan.objects.filter(service=service).order_by("-created", "-id").first()
    recent = list(
        Scan.objects.filter(service=service, status=Scan.Status.DONE).order_by("-created", "-id")[
            :TREND_POINTS
        ]
    )
    chart = charts.trend_chart([(s.created, s.total_libyears) for s in reversed(recent)])
    rows = ScannedDependency.objects.none()
    drift = request.GET.get("drift", "")
    if scan is not None:
        rows = scan.rows.all()
        if drift in DRIFTS:
            rows = rows.filter(drift=drift)
        else:
            drift = ""
        rows = rows.order_by("-behind_major", "-behind_minor", "-behind_patch", "ecosystem", "name")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dependencies/service.html",
        {
            "service": service,
            "scan": scan,
            "last": last,
            "page_obj": page,
            "drift": drift,
            "runtimes": list(scan.runtimes.all()) if scan else [],
            "chart": chart,
            "has_path": hub.can_scan(service),
            "proposals": Proposal.objects.filter(service=service).order_by("-created", "-id")[:5],
        },
    )


@org_view("act")
@require_POST
def scan_now(request, org_slug, service_slug):
    """Queue a scan of the service's repository."""
    service = _service(request, service_slug)
    row = Scan.objects.create(service=service)
    tasks.run_scan(row.pk)
    messages.success(request, f"A dependency scan of {service.name} is queued; this page shows it when done.")
    return redirect("dependencies-service", org_slug, service.slug)


@org_view("view")
def proposal_list(request, org_slug, service_slug):
    """List a service's update proposals with their test outcome."""
    service = _service(request, service_slug)
    page = Paginator(Proposal.objects.filter(service=service).order_by("-created", "-id"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dependencies/proposals.html",
        {"service": service, "page_obj": page, "scan": hub.latest_scan(service)},
    )


@org_view("act")
@require_POST
def proposal_new(request, org_slug, service_slug):
    """Create proposals from the latest scan (optionally one ecosystem or kind) and queue their tests."""
    service = _service(request, service_slug)
    ecosystem = request.POST.get("ecosystem") or None
    group = request.POST.get("group") or None
    if ecosystem not in (None, "PyPI", "npm") or group not in (None, "minor-patch", "major"):
        messages.error(request, "Choose PyPI or npm, and minor-and-patch or major updates.")
        return redirect("dependencies-proposals", org_slug, service.slug)
    created = hub.create_proposals(service, request.user, ecosystem, group)
    if not created:
        messages.error(request, "Nothing to propose: scan first, or no direct dependency is outdated.")
        return redirect("dependencies-proposals", org_slug, service.slug)
    for proposal in created:
        tasks.run_proposal(proposal.pk)
    messages.success(request, f"{len(created)} update proposal(s) created; their tests run as a job.")
    return redirect("dependencies-proposals", org_slug, service.slug)


@org_view("view")
def proposal_detail(request, org_slug, service_slug, pk):
    """Show one proposal: its changes, where they were written, and the test output."""
    service = _service(request, service_slug)
    proposal = get_object_or_404(Proposal, service=service, pk=pk)
    return render(request, "dependencies/proposal.html", {"service": service, "proposal": proposal})
