"""The findings inbox, a finding's page, and the acknowledge / resolve / snooze buttons."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .. import audit
from .. import findings as lifecycle
from ..access import org_view
from ..models import Finding
from ..models.findings import Severity, State
from .listing import paginate, search

SNOOZE = {
    "1h": (timedelta(hours=1), "1 hour"),
    "4h": (timedelta(hours=4), "4 hours"),
    "1d": (timedelta(days=1), "1 day"),
    "1w": (timedelta(weeks=1), "1 week"),
}
STATE_FILTERS = [
    ("unresolved", "Open or acknowledged"),
    ("open", "Open"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("all", "All"),
]


# What needs a person first: open before acknowledged before resolved, then the most severe, then the newest.
URGENCY = [
    Case(*[When(state=s, then=Value(i)) for i, s in enumerate(State.values)], output_field=IntegerField()),
    Case(
        *[When(severity=s, then=Value(-i)) for i, s in enumerate(Severity.values)],
        output_field=IntegerField(),
    ),
    "-last_seen",
    "-id",
]


def _param(request, name, default=""):
    """Return a query parameter, cleaned of what a database cannot store (NUL) and of excess length."""
    return request.GET.get(name, default).replace("\x00", "").strip()[:200]


def _filtered(request):
    """Return the organization's findings narrowed by the inbox's filters, and the filters as chosen."""
    qs = Finding.objects.filter(organization=request.org).select_related("service").order_by(*URGENCY)
    chosen = {
        "service": _param(request, "service"),
        "state": _param(request, "state") or "unresolved",
        "severity": _param(request, "severity"),
        "source": _param(request, "source"),
    }
    if chosen["service"]:
        qs = qs.filter(service__slug=chosen["service"])
    if chosen["state"] == "unresolved":
        qs = qs.exclude(state=State.RESOLVED)
    elif chosen["state"] in State.values:
        qs = qs.filter(state=chosen["state"])
    else:
        chosen["state"] = "all"
    if chosen["severity"] in Severity.values:
        qs = qs.filter(severity=chosen["severity"])
    else:
        chosen["severity"] = ""
    if chosen["source"]:
        qs = qs.filter(source=chosen["source"])
    qs, q = search(qs, request, "title", "key", "service__name")
    return qs, q, chosen


@org_view("view")
def inbox(request, org_slug):
    """List the organization's findings with filters, search and pages."""
    qs, q, chosen = _filtered(request)
    org_findings = Finding.objects.filter(organization=request.org)
    return render(
        request,
        "core/findings/inbox.html",
        {
            "page_obj": paginate(request, qs),
            "q": q,
            "chosen": chosen,
            "any_findings": org_findings.exists(),
            "services": request.org.services.order_by("name").only("name", "slug"),
            "sources": org_findings.order_by("source").values_list("source", flat=True).distinct(),
            "state_filters": STATE_FILTERS,
            "severities": Severity.choices,
            "snooze_choices": [(k, label) for k, (_, label) in SNOOZE.items()],
        },
    )


@org_view("view")
def detail(request, org_slug, pk):
    """Show one finding with its history and the notifications sent about it."""
    finding = get_object_or_404(
        Finding.objects.select_related("service", "acknowledged_by", "resolved_by"),
        organization=request.org,
        pk=pk,
    )
    notifications = finding.notifications.select_related("channel").prefetch_related("deliveries")[:50]
    return render(
        request,
        "core/findings/detail.html",
        {
            "finding": finding,
            "events": finding.events.select_related("actor")[:200],
            "notifications": notifications,
            "snooze_choices": [(k, label) for k, (_, label) in SNOOZE.items()],
        },
    )


def _perform(finding, action, duration, user):
    """Apply a person's action to a finding; return a sentence saying what happened."""
    if action == "acknowledge":
        done = lifecycle.acknowledge(finding, user)
        result = "Acknowledged." if done else "It was not open, so there was nothing to acknowledge."
    elif action == "resolve":
        done = lifecycle.resolve(finding, user)
        result = "Resolved." if done else "It was already resolved."
    else:
        delta, label = SNOOZE[duration]
        done = lifecycle.snooze(finding, timezone.now() + delta, user)
        result = f"Snoozed for {label}." if done else "It is resolved, so there is nothing to snooze."
    if done:
        audit.record(action, finding, changes={"until": duration} if action == "snooze" else None)
    return done, result


@org_view("act")
@require_POST
def act(request, org_slug, pk):
    """Acknowledge, resolve or snooze a finding (an htmx request gets its updated row back)."""
    finding = get_object_or_404(Finding.objects.select_related("service"), organization=request.org, pk=pk)
    action = request.POST.get("action", "")
    duration = request.POST.get("duration", "")
    if action not in ("acknowledge", "resolve", "snooze"):
        return HttpResponseBadRequest("Unknown action: choose acknowledge, resolve or snooze.")
    if action == "snooze" and duration not in SNOOZE:
        return HttpResponseBadRequest("Choose how long to snooze: 1h, 4h, 1d or 1w.")
    done, result = _perform(finding, action, duration, request.user)
    finding.refresh_from_db()
    if request.htmx:
        return render(
            request,
            "core/findings/inbox.html#finding-row",
            {
                "f": finding,
                "result": result,
                "snooze_choices": [(k, label) for k, (_, label) in SNOOZE.items()],
            },
        )
    (messages.success if done else messages.info)(request, f"{finding.title}: {result}")
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("findings", org_slug)
