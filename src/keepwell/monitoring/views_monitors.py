"""Uptime monitors on the web: the list (thousands, down first), a monitor's page, create, edit, pause, delete."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Finding, Service
from keepwell.core.models.findings import State
from keepwell.core.views.listing import search

from . import charts, history, state
from .forms import MonitorForm
from .models import CheckResult, Monitor

PER_PAGE = 50
RECENT_RESULTS = 50
Status = Monitor.Status
# Down first, then what is not known to be up, then up, then paused.
STATUS_RANK = [Status.DOWN, Status.UNREACHABLE, Status.PENDING, Status.UP, Status.PAUSED]
DOWN_FIRST = Case(
    *[When(status=s, then=Value(i)) for i, s in enumerate(STATUS_RANK)],
    default=Value(len(STATUS_RANK)),
    output_field=IntegerField(),
)
LIST_FIELDS = ["id", "name", "kind", "target", "status", "status_changed_at", "last_checked", "last_latency_ms",
               "last_error", "interval", "service__slug", "service__name"]  # fmt: skip


def param(request, name):
    """Return a query parameter, cleaned of what a database cannot store (NUL) and of excess length."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:200]


def finding_key(monitor) -> str:
    return f"monitor:{monitor.pk}"


@org_view("view")
def monitor_list(request, org_slug):
    """List the organization's monitors, down first; filter by service, status and kind; search."""
    everything = Monitor.objects.filter(organization=request.org)
    chosen = {k: param(request, k) for k in ("service", "status", "kind")}
    scoped = everything
    if chosen["service"]:
        scoped = scoped.filter(service__slug=chosen["service"])
    counts = dict(scoped.order_by().values_list("status").annotate(n=Count("id")))
    qs = scoped
    if chosen["status"] in Status.values:
        qs = qs.filter(status=chosen["status"])
    else:
        chosen["status"] = ""
    if chosen["kind"] in Monitor.Kind.values:
        qs = qs.filter(kind=chosen["kind"])
    else:
        chosen["kind"] = ""
    qs, q = search(qs, request, "name", "target")
    qs = qs.select_related("service").only(*LIST_FIELDS).order_by(DOWN_FIRST, "name", "id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    any_monitors = sum(counts.values()) > 0 or everything.exists()
    return render(
        request,
        "monitoring/monitors/list.html",
        {
            "page_obj": page,
            "q": q,
            "chosen": chosen,
            "counts": [(s, label, counts.get(s, 0)) for s, label in Status.choices],
            "total": sum(counts.values()),
            "any_monitors": any_monitors,
            "services": Service.objects.filter(organization=request.org)
            .order_by("name")
            .only("slug", "name"),
            "statuses": Status.choices,
            "kinds": Monitor.Kind.choices,
            "filtered": bool(q or chosen["status"] or chosen["kind"] or chosen["service"]),
        },
    )


def _monitor(request, pk):
    return get_object_or_404(
        Monitor.objects.select_related("service", "depends_on"), organization=request.org, pk=pk
    )


@org_view("view")
def monitor_detail(request, org_slug, pk):
    """Show a monitor: its state, last error, 24-hour latency, 90-day uptime and recent checks."""
    monitor = _monitor(request, pk)
    now = timezone.now()
    rows = CheckResult.objects.filter(monitor=monitor, checked_at__gte=now - timedelta(hours=24)).values_list(
        "checked_at", "latency_ms", "ok"
    )
    days = history.daily_uptime(monitor, days=90, now=now)
    finding = (
        Finding.objects.filter(service=monitor.service, source="monitoring", key=finding_key(monitor))
        .exclude(state=State.RESOLVED)
        .first()
    )
    return render(
        request,
        "monitoring/monitors/detail.html",
        {
            "monitor": monitor,
            "chart": charts.latency_chart(list(rows), now),
            "bar": charts.uptime_bar(days),
            "results": monitor.results.all()[:RECENT_RESULTS],
            "dependents": monitor.dependents.order_by("name")[:20],
            "finding": finding,
        },
    )


@org_view("act")
def monitor_new(request, org_slug):
    """Add a monitor; the service may be chosen in advance with ?service=<slug>."""
    initial = {}
    service = Service.objects.filter(organization=request.org, slug=param(request, "service")).first()
    if service:
        initial["service"] = service
    if not Service.objects.filter(organization=request.org).exists():
        return render(request, "monitoring/no_services.html", {"what": "a monitor"})
    form = MonitorForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        monitor = form.save(commit=False)
        monitor.next_check_at = timezone.now()
        monitor.save()
        messages.success(request, f"Added {monitor.name}. Its first check runs within a few seconds.")
        return redirect("monitor", org_slug, monitor.pk)
    return render(request, "monitoring/monitors/form.html", {"form": form, "monitor": None})


@org_view("act")
def monitor_edit(request, org_slug, pk):
    """Change a monitor's target, kind, options and schedule."""
    monitor = _monitor(request, pk)
    before = (monitor.kind, monitor.target, monitor.config, monitor.interval, monitor.timeout)
    form = MonitorForm(request.POST or None, instance=monitor, org=request.org)
    if request.method == "POST" and form.is_valid():
        monitor = form.save(commit=False)
        if (monitor.kind, monitor.target, monitor.config, monitor.interval, monitor.timeout) != before:
            monitor.next_check_at = timezone.now()  # check the new settings now rather than after an interval
        monitor.save()
        messages.success(request, f"Saved {monitor.name}.")
        return redirect("monitor", org_slug, monitor.pk)
    return render(request, "monitoring/monitors/form.html", {"form": form, "monitor": monitor})


@org_view("act")
@require_POST
def monitor_pause(request, org_slug, pk):
    """Pause a monitor (no checks, no alerts; an open finding is resolved) or resume it."""
    monitor = _monitor(request, pk)
    if request.POST.get("action") == "resume":
        if monitor.paused:
            state.resume(monitor)
        messages.success(request, f"Resumed {monitor.name}: it is checked again from now on.")
    else:
        if not monitor.paused:
            state.pause(monitor)
        messages.success(request, f"Paused {monitor.name}: no checks and no alerts until you resume it.")
    return redirect("monitor", org_slug, monitor.pk)


@org_view("act")
def monitor_delete(request, org_slug, pk):
    """Ask, then delete a monitor with its history; its open finding is resolved."""
    monitor = _monitor(request, pk)
    if request.method == "POST":
        name = monitor.name
        state.forget(monitor)
        messages.success(request, f"Deleted {name} and its history.")
        return redirect("monitors", org_slug)
    return render(
        request,
        "monitoring/confirm_delete.html",
        {
            "object": monitor,
            "what": "monitor",
            "consequence": "Its checks, uptime history and status-page entries go with it.",
            "cancel": monitor.pk,
            "dependents": monitor.dependents.count(),
        },
    )
