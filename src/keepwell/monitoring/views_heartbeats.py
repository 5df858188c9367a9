"""Heartbeats on the web: the list with ping URLs to copy, a heartbeat's page with its ping log, create, edit,
pause and resume."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import BinaryField, Case, Count, IntegerField, Value, When
from django.db.models.functions import Substr
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Finding, Service
from keepwell.core.models.findings import State
from keepwell.core.views.listing import search

from . import heartbeats as lifecycle
from .forms import HeartbeatForm
from .models import Heartbeat, Ping
from .views_monitors import param

PER_PAGE = 50
PINGS_PER_PAGE = 50
BODY_PREVIEW = 2000  # bytes of a ping's body shown in the log (a body is stored up to 100 KB)
Status = Heartbeat.Status
STATUS_RANK = [Status.DOWN, Status.STARTED, Status.NEW, Status.UP, Status.PAUSED]
DOWN_FIRST = Case(
    *[When(status=s, then=Value(i)) for i, s in enumerate(STATUS_RANK)],
    default=Value(len(STATUS_RANK)),
    output_field=IntegerField(),
)


@org_view("view")
def heartbeat_list(request, org_slug):
    """List the organization's heartbeats, down first, with their ping URLs; filter by service and status."""
    everything = Heartbeat.objects.filter(organization=request.org)
    chosen = {k: param(request, k) for k in ("service", "status")}
    scoped = everything
    if chosen["service"]:
        scoped = scoped.filter(service__slug=chosen["service"])
    counts = dict(scoped.order_by().values_list("status").annotate(n=Count("id")))
    qs = scoped
    if chosen["status"] in Status.values:
        qs = qs.filter(status=chosen["status"])
    else:
        chosen["status"] = ""
    qs, q = search(qs, request, "name", "slug")
    qs = qs.select_related("service").order_by(DOWN_FIRST, "name", "id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/heartbeats/list.html",
        {
            "page_obj": page,
            "q": q,
            "chosen": chosen,
            "counts": [(s, label, counts.get(s, 0)) for s, label in Status.choices],
            "any_heartbeats": sum(counts.values()) > 0 or everything.exists(),
            "services": Service.objects.filter(organization=request.org)
            .order_by("name")
            .only("slug", "name"),
            "statuses": Status.choices,
            "filtered": bool(q or chosen["status"] or chosen["service"]),
        },
    )


def _heartbeat(request, uuid):
    return get_object_or_404(Heartbeat.objects.select_related("service"), organization=request.org, uuid=uuid)


def body_text(body) -> str:
    """Return a stored ping body (bytes, or memoryview on PostgreSQL) as text for the page (escaped there)."""
    if body is None:
        return ""
    return bytes(body).decode("utf-8", errors="replace")


@org_view("view")
def heartbeat_detail(request, org_slug, uuid):
    """Show a heartbeat: its state, schedule, ping URLs and the ping log with (truncated) bodies."""
    heartbeat = _heartbeat(request, uuid)
    pings = (
        Ping.objects.filter(heartbeat=heartbeat)
        .defer("body")
        .annotate(preview=Substr("body", 1, BODY_PREVIEW + 1, output_field=BinaryField()))
        .order_by("-n")
    )
    page = Paginator(pings, PINGS_PER_PAGE).get_page(request.GET.get("page"))
    for ping in page.object_list:
        raw = bytes(ping.preview or b"")
        ping.body_preview = body_text(raw[:BODY_PREVIEW])
        ping.preview_cut = len(raw) > BODY_PREVIEW or ping.body_truncated
    finding = (
        Finding.objects.filter(
            service=heartbeat.service, source="monitoring", key=lifecycle.finding_key(heartbeat)
        )
        .exclude(state=State.RESOLVED)
        .first()
    )
    return render(
        request,
        "monitoring/heartbeats/detail.html",
        {
            "heartbeat": heartbeat,
            "page_obj": page,
            "slug_url": heartbeat.slug_ping_url(),
            "finding": finding,
            "body_preview": BODY_PREVIEW,
        },
    )


@org_view("act")
def heartbeat_new(request, org_slug):
    """Add a heartbeat; the service may be chosen in advance with ?service=<slug>."""
    if not Service.objects.filter(organization=request.org).exists():
        return render(request, "monitoring/no_services.html", {"what": "a heartbeat"})
    initial = {}
    service = Service.objects.filter(organization=request.org, slug=param(request, "service")).first()
    if service:
        initial["service"] = service
    form = HeartbeatForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        heartbeat = form.save()
        messages.success(
            request,
            f"Added {heartbeat.name}. Add the ping URL below to the end of your job; it is “new” until the first ping.",
        )
        return redirect("heartbeat", org_slug, heartbeat.uuid)
    return render(request, "monitoring/heartbeats/form.html", {"form": form, "heartbeat": None})


@org_view("act")
def heartbeat_edit(request, org_slug, uuid):
    """Change a heartbeat's name, service, slug and schedule."""
    heartbeat = _heartbeat(request, uuid)
    form = HeartbeatForm(request.POST or None, instance=heartbeat, org=request.org)
    if request.method == "POST" and form.is_valid():
        heartbeat = form.save()
        if {"kind", "period", "grace", "schedule", "tz"} & set(form.changed_data):
            lifecycle.reschedule(heartbeat)
        messages.success(request, f"Saved {heartbeat.name}.")
        return redirect("heartbeat", org_slug, heartbeat.uuid)
    return render(request, "monitoring/heartbeats/form.html", {"form": form, "heartbeat": heartbeat})


@org_view("act")
@require_POST
def heartbeat_pause(request, org_slug, uuid):
    """Pause a heartbeat (no alerts until resumed or pinged; an open finding is resolved) or resume it."""
    heartbeat = _heartbeat(request, uuid)
    if request.POST.get("action") == "resume":
        lifecycle.resume(heartbeat)
        messages.success(request, f"Resumed {heartbeat.name}: it waits for its next ping.")
    else:
        lifecycle.pause(heartbeat)
        messages.success(request, f"Paused {heartbeat.name}: no alerts until you resume it or it is pinged.")
    return redirect("heartbeat", org_slug, heartbeat.uuid)


@org_view("act")
def heartbeat_delete(request, org_slug, uuid):
    """Ask, then delete a heartbeat with its ping log; its open finding is resolved."""
    heartbeat = _heartbeat(request, uuid)
    if request.method == "POST":
        name = heartbeat.name
        lifecycle.pause(heartbeat)  # resolves an open finding
        heartbeat.delete()
        messages.success(request, f"Deleted {name} and its ping log.")
        return redirect("heartbeats", org_slug)
    return render(
        request,
        "monitoring/confirm_delete.html",
        {
            "object": heartbeat,
            "what": "heartbeat",
            "consequence": "Its ping log goes with it, and pings to its URL answer 404 from then on.",
        },
    )
