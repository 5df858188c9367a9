"""Error groups on the web: the list with filters, a group's page with its actions, an event's page."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Service
from keepwell.core.views.listing import paginate, search

from .models import ErrorEvent, ErrorGroup, EventAttachment, GroupHour, GroupTag, UserReport
from .states import ACTIONS, StatusError, change_status

Status = ErrorGroup.Status
TAG_VALUES_SHOWN = 10
CHART_HOURS = 24 * 7
MAX_IGNORE_COUNT = 1_000_000
MAX_IGNORE_HOURS = 24 * 365


def param(request, name: str) -> str:
    """Return a query parameter without NUL characters and cut to 200 characters."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:200]


@org_view("view")
def group_list(request, org_slug):
    """List the organization's error groups, most recent first; filter by service, status, release, environment."""
    groups = ErrorGroup.objects.filter(organization=request.org)
    chosen = {k: param(request, k) for k in ("service", "status", "release", "environment")}
    if "status" not in request.GET:
        chosen["status"] = Status.UNRESOLVED
    if chosen["service"]:
        groups = groups.filter(service__slug=chosen["service"])
    if chosen["status"] == "regressed":
        groups = groups.filter(status=Status.UNRESOLVED, regressed=True)
    elif chosen["status"] in Status.values:
        groups = groups.filter(status=chosen["status"])
    else:
        chosen["status"] = ""
    for key in ("release", "environment"):
        if chosen[key]:
            groups = groups.filter(tags__key=key, tags__value=chosen[key])
    groups, q = search(groups, request, "title", "culprit")
    groups = groups.select_related("service").order_by("-last_seen", "-id")
    services = Service.objects.filter(organization=request.org).order_by("name").only("slug", "name")
    scope = GroupTag.objects.filter(group__organization=request.org)
    if chosen["service"]:
        scope = scope.filter(group__service__slug=chosen["service"])
    return render(
        request,
        "errors/list.html",
        {
            "page_obj": paginate(request, groups),
            "q": q,
            "chosen": chosen,
            "services": services,
            "statuses": [*Status.choices, ("regressed", "Regressed")],
            "releases": _values(scope, "release"),
            "environments": _values(scope, "environment"),
            "any_groups": ErrorGroup.objects.filter(organization=request.org).exists(),
            "filtered": bool(q or any(v for k, v in chosen.items() if k != "status")),
        },
    )


def _values(tags, key: str) -> list[str]:
    return list(tags.filter(key=key).order_by("value").values_list("value", flat=True).distinct()[:200])


def _group(request, pk) -> ErrorGroup:
    return get_object_or_404(ErrorGroup.objects.select_related("service"), organization=request.org, pk=pk)


@org_view("view")
def group_detail(request, org_slug, pk):
    """Show a group: counts, tags with their values, releases, the latest event, the hourly chart, events."""
    group = _group(request, pk)
    tags: dict[str, list] = {}
    for tag in GroupTag.objects.filter(group=group).exclude(key="user").order_by("key", "-count", "value"):
        values = tags.setdefault(tag.key, [])
        if len(values) < TAG_VALUES_SHOWN:
            values.append(tag)
    releases = tags.pop("release", [])
    since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    hours = dict(GroupHour.objects.filter(group=group, hour__gte=since).values_list("hour", "count"))
    chart = [hours.get(since + timedelta(hours=i), 0) for i in range(CHART_HOURS)]
    events = group.events.defer("data").order_by("-timestamp", "-id")
    latest = events.first()
    return render(
        request,
        "errors/group.html",
        {
            "group": group,
            "tags": sorted(tags.items()),
            "releases": releases,
            "chart_hours": CHART_HOURS,
            "chart_max": max(chart),
            "bars": [
                (i, 40 - max(1, round(40 * n / max(chart))), max(1, round(40 * n / max(chart))), n)
                for i, n in enumerate(chart)
                if n
            ],
            "latest": latest,
            "latest_data": ErrorEvent.objects.get(pk=latest.pk).unpack() if latest else None,
            "page_obj": paginate(request, events),
            "reports": UserReport.objects.filter(
                service=group.service, event_id__in=events.values("event_id")
            )[:20],
        },
    )


@org_view("act")
@require_POST
def group_status(request, org_slug, pk):
    """Resolve, resolve in the next release, ignore or unresolve a group (a POST with CSRF)."""
    group = _group(request, pk)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, f"Unknown action {action[:50]!r}: use one of {', '.join(ACTIONS)}.")
        return redirect("error-group", org_slug, group.pk)
    count, until = None, None
    if action == "ignore":
        try:
            count = _bounded(request.POST.get("ignore_count"), MAX_IGNORE_COUNT)
            hours = _bounded(request.POST.get("ignore_hours"), MAX_IGNORE_HOURS)
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("error-group", org_slug, group.pk)
        until = timezone.now() + timedelta(hours=hours) if hours else None
    try:
        group = change_status(
            group, ACTIONS[action], actor=request.user, ignore_count=count, ignore_until=until
        )
    except StatusError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The error group is now {group.get_status_display().lower()}.")
    return redirect("error-group", org_slug, group.pk)


def _bounded(value, limit: int) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= limit:
        raise ValueError(f"Give a whole number from 1 to {limit:,} (got {value[:20]!r}), or leave it empty.")
    return int(value)


@org_view("view")
def event_detail(request, org_slug, pk, event_id):
    """Show one event: stack trace (in-app frames first), breadcrumbs, request, user, tags, contexts."""
    group = _group(request, pk)
    event = ErrorEvent.objects.filter(group=group, event_id=event_id[:32].lower()).first()
    if event is None:
        raise Http404("No such event in this group.")
    data = event.unpack()
    for exc in data.get("exceptions") or []:
        frames = list(reversed(exc.get("frames") or []))  # the innermost call first
        exc["app_frames"] = [f for f in frames if f.get("in_app")]
        exc["other_frames"] = [f for f in frames if not f.get("in_app")]
    newer = group.events.filter(
        Q(timestamp__gt=event.timestamp) | Q(timestamp=event.timestamp, id__gt=event.id)
    )
    older = group.events.filter(
        Q(timestamp__lt=event.timestamp) | Q(timestamp=event.timestamp, id__lt=event.id)
    )
    return render(
        request,
        "errors/event.html",
        {
            "group": group,
            "event": event,
            "data": data,
            "exceptions": list(reversed(data.get("exceptions") or [])),
            "newer": newer.order_by("timestamp", "id").only("event_id").first(),
            "older": older.order_by("-timestamp", "-id").only("event_id").first(),
            "attachments": EventAttachment.objects.filter(service=group.service, event_id=event.event_id),
            "reports": UserReport.objects.filter(service=group.service, event_id=event.event_id),
        },
    )


@org_view("view")
def attachment_download(request, org_slug, pk):
    """Download an event's attachment (always as a download, never shown inline)."""
    attachment = get_object_or_404(EventAttachment, service__organization=request.org, pk=pk)
    if not attachment.stored:
        raise Http404("This attachment was larger than the size limit, so only its name and size were kept.")
    response = HttpResponse(bytes(attachment.data), content_type="application/octet-stream")
    safe_name = "".join(c for c in attachment.filename if c.isalnum() or c in "._-")[:100] or "attachment"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
