"""The security pages: the organization's (what is affected where, overdue first) and one per service."""

from datetime import UTC, datetime

from django.apps import apps
from django.contrib import messages
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Finding, Service
from keepwell.core.models.findings import State

from . import scanning, tasks
from .findings import SOURCE
from .models import AcceptedSecret, FixDeadline, PostureResult, SecretFinding, SecretScan, VexDecision

NO_DATE = datetime(9999, 1, 1, tzinfo=UTC)  # findings without a fix-by date sort last
SEVERITY_ORDER = ("critical", "high", "medium", "low", "unknown")
CORE_RANK = Case(
    When(severity="critical", then=Value(0)),
    When(severity="warning", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def vulnerability_model():
    """Return the ServiceVulnerability model when the vulnerabilities part is installed, else None."""
    try:
        return apps.get_model("security", "ServiceVulnerability")
    except LookupError:
        return None


def _open_findings(queryset):
    """Return unresolved security findings with their deadlines, overdue first, then by severity."""
    now = timezone.now()
    rows = list(
        queryset.filter(source=SOURCE)
        .exclude(state=State.RESOLVED)
        .select_related("service")
        .order_by(CORE_RANK, "first_seen")
    )
    deadlines = {
        (d.service_id, d.key): d
        for d in FixDeadline.objects.filter(
            service_id__in={f.service_id for f in rows}, key__in=[f.key for f in rows]
        )
    }
    out = []
    for finding in rows:
        deadline = deadlines.get((finding.service_id, finding.key))
        overdue = bool(deadline and deadline.fix_by <= now)
        out.append({"finding": finding, "deadline": deadline, "overdue": overdue})
    rank = {"critical": 0, "warning": 1}
    out.sort(
        key=lambda r: (
            not r["overdue"],
            rank.get(r["finding"].severity, 2),
            r["deadline"].fix_by if r["deadline"] else NO_DATE,
        )
    )
    return out


def _vulnerabilities(service):
    model = vulnerability_model()
    if model is None:
        return None, []
    rows = list(model.objects.filter(service=service))
    from . import vulnerabilities

    decisions = list(VexDecision.objects.filter(service=service).select_related("author"))
    open_states = getattr(model, "OPEN_STATES", ("affected", "under_investigation"))
    for row in rows:
        row.vex = vulnerabilities.decision_for(row, decisions)
        row.is_open = row.state in open_states
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    rows.sort(
        key=lambda v: (rank.get(str(getattr(v, "severity", "unknown")), 9), str(getattr(v, "package", "")))
    )
    groups = []
    for severity in SEVERITY_ORDER:
        items = [v for v in rows if str(getattr(v, "severity", "unknown")) == severity]
        if items:
            groups.append({"severity": severity, "items": items})
    return model, groups


@org_view("view")
def organization_security(request, org_slug):
    """Show what is affected where across the organization: open security findings, overdue first."""
    services = list(Service.objects.filter(organization=request.org).order_by("name"))
    findings = _open_findings(Finding.objects.filter(organization=request.org))
    per_service = {s.pk: {"service": s, "open": 0, "overdue": 0, "critical": 0} for s in services}
    for row in findings:
        entry = per_service[row["finding"].service_id]
        entry["open"] += 1
        entry["overdue"] += row["overdue"]
        entry["critical"] += row["finding"].severity == "critical"
    grades = {}
    for result in PostureResult.objects.filter(organization=request.org).order_by("-score"):
        grades[result.service_id] = result  # the worst of each service wins (ascending last)
    secrets = {}
    for row in (
        SecretFinding.objects.filter(organization=request.org, in_repo_baseline=False)
        .exclude(
            fingerprint__in=AcceptedSecret.objects.filter(organization=request.org).values("fingerprint")
        )
        .values_list("service_id", flat=True)
    ):
        secrets[row] = secrets.get(row, 0) + 1
    vulns: dict[int, dict[str, int]] = {}
    model = vulnerability_model()
    if model is not None:
        open_states = getattr(model, "OPEN_STATES", ("affected", "under_investigation"))
        rows = model.objects.filter(organization=request.org, state__in=open_states)
        for service_id, severity in rows.values_list("service_id", "severity"):
            counts = vulns.setdefault(service_id, {})
            counts[severity] = counts.get(severity, 0) + 1
    table = []
    for entry in per_service.values():
        service = entry["service"]
        entry["worst_grade"] = grades.get(service.pk)
        entry["secrets"] = secrets.get(service.pk, 0)
        counts = vulns.get(service.pk, {})
        entry["vulnerabilities"] = [(s, counts[s]) for s in SEVERITY_ORDER if counts.get(s)]
        table.append(entry)
    table.sort(key=lambda e: (-e["overdue"], -e["critical"], -e["open"], e["service"].name))
    return render(
        request,
        "security/organization.html",
        {"findings": findings, "table": table, "overdue": sum(r["overdue"] for r in findings)},
    )


def _service(request, service_slug):
    return get_object_or_404(Service, organization=request.org, slug=service_slug)


def _justifications():
    """Return CycloneDX's not-affected justifications as (value, label) pairs for the VEX form."""
    from .sbom import JUSTIFICATIONS

    return [(j, j.replace("_", " ").capitalize()) for j in JUSTIFICATIONS]


@org_view("view")
def service_security(request, org_slug, service_slug):
    """Show one service: vulnerabilities by severity, secrets (masked), posture grades, fix-by dates."""
    service = _service(request, service_slug)
    accepted = set(AcceptedSecret.objects.filter(service=service).values_list("fingerprint", flat=True))
    secrets = list(SecretFinding.objects.filter(service=service))
    for row in secrets:
        row.accepted = row.fingerprint in accepted or row.in_repo_baseline
    model, vulnerabilities = _vulnerabilities(service)
    return render(
        request,
        "security/service.html",
        {
            "service": service,
            "findings": _open_findings(Finding.objects.filter(service=service)),
            "secrets": [r for r in secrets if not r.accepted],
            "accepted_secrets": [r for r in secrets if r.accepted],
            "last_scan": SecretScan.objects.filter(service=service).first(),
            "posture": PostureResult.objects.filter(service=service).order_by("score", "url"),
            "monitored": scanning.https_monitors(service),
            "vulnerabilities_installed": model is not None,
            "vulnerabilities": vulnerabilities,
            "vex_justifications": _justifications() if model is not None else [],
        },
    )


@org_view("act")  # signs out visitors in first: a GET from them goes to sign-in, not 405
@require_POST
def service_scan(request, org_slug, service_slug):
    """Start a secrets scan (tree, or with history) or a posture check of the service."""
    service = _service(request, service_slug)
    what = request.POST.get("what", "")
    if what in ("secrets", "history"):
        scan = scanning.start_scan(service, history=what == "history")
        tasks.scan_service_secrets(service.pk, history=scan.history, scan_id=scan.pk)
        messages.success(request, "Secrets scan started; refresh this page in a moment to see its results.")
    elif what == "posture":
        tasks.probe_service_posture(service.pk)
        messages.success(request, "Posture check started for the monitored HTTPS URLs.")
    else:
        messages.error(request, "Choose what to scan: secrets, history or posture.")
    return redirect("security-service", org_slug, service.slug)


@org_view("act")  # signs out visitors in first: a GET from them goes to sign-in, not 405
@require_POST
def secret_accept(request, org_slug, service_slug, pk):
    """Accept a secret into the service's baseline: it is no longer reported."""
    service = _service(request, service_slug)
    row = get_object_or_404(SecretFinding, service=service, pk=pk)
    reason = request.POST.get("reason", "").replace("\x00", "").strip()[:500]
    scanning.accept_secret(row, request.user, reason)
    messages.success(request, f"Accepted the {row.type} in {row.filename}; it is no longer reported.")
    return redirect("security-service", org_slug, service.slug)


@org_view("act")  # signs out visitors in first: a GET from them goes to sign-in, not 405
@require_POST
def vulnerability_vex(request, org_slug, service_slug, pk):
    """Record the team's VEX decision about one vulnerability of the service (the API's rules apply)."""
    from . import vulnerabilities

    service = _service(request, service_slug)
    model = vulnerability_model()
    if model is None:
        raise Http404("Vulnerability matching is not installed.")
    row = get_object_or_404(model, service=service, pk=pk)
    try:
        decision = vulnerabilities.record_vex(
            service,
            author=request.user,
            vulnerability=row.osv_id,
            package=row.package,
            state=request.POST.get("state", ""),
            justification=request.POST.get("justification", ""),
            detail=request.POST.get("detail", "").replace("\x00", "").strip()[:10_000],
        )
    except vulnerabilities.VexError as error:
        messages.error(request, f"No decision recorded about {row.osv_id} in {row.package}: {error.message}")
    else:
        messages.success(
            request, f"Recorded {row.osv_id} in {row.package} as {decision.get_state_display().lower()}."
        )
    return redirect("security-service", org_slug, service.slug)
