"""Public, signed-out routes of monitoring: the Alertmanager webhook, status pages and their Atom feeds.

Status pages are rendered without the request (no CSRF token, no user) and cached whole (statuspage_cache.py):
rebuilt at most once per KEEPWELL_STATUS_PAGE_CACHE_SECONDS and whenever the team changes the page, so a traffic
spike costs the database nothing.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, format_html, format_html_join, linebreaks
from django.views.decorators.csrf import csrf_exempt

from keepwell.core.findings import raise_finding, resolve_finding
from keepwell.core.models import MaintenanceWindow

from . import alertmanager, history, statuspage_cache, statuspage_state
from .models import AlertmanagerHook, Incident, IncidentUpdate, StatusPage

MISSING = "-"  # cached for a slug with no published page
RECENT = timedelta(days=14)
FEED_ENTRIES = 50

# --- Alertmanager ---------------------------------------------------------------------------------------


def _error(status: int, detail: str, **headers) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers or None)


@csrf_exempt
def alertmanager_hook(request, token):
    """Turn an Alertmanager v4 notification into findings: firing alerts raise, resolved ones resolve."""
    if request.method != "POST":
        return _error(405, "Alertmanager posts here: use POST with a webhook payload.", Allow="POST")
    hook = AlertmanagerHook.find(token)
    if hook is None:
        return _error(
            404,
            "No Alertmanager hook has this token. Copy the URL shown when the hook was created "
            "(Status pages → Alertmanager hooks), or create a new hook.",
        )
    limit = settings.ALERTMANAGER_MAX_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "The Content-Length header is not a number.")
    body = b"" if declared > limit else request.read(limit + 1)
    if declared > limit or len(body) > limit:
        return _error(
            413,
            f"The payload is larger than {limit} bytes. Lower max_alerts in the receiver's "
            "webhook_config, or raise KEEPWELL_ALERTMANAGER_MAX_BODY.",
        )
    try:
        notification = alertmanager.parse(body)
    except ValueError as exc:
        return _error(400, str(exc))
    service = hook.service
    firing = resolved = 0
    for alert in notification.alerts:
        if alert.firing:
            link = alert.generator_url if alert.generator_url.startswith(("https://", "http://")) else ""
            raise_finding(
                service,
                source="alertmanager",
                key=alert.fingerprint,
                title=alert.title,
                severity=alert.severity,
                detail=alert.detail,
                url=link[:500],
            )
            firing += 1
        else:
            resolve_finding(
                service, source="alertmanager", key=alert.fingerprint, note="resolved in Alertmanager"
            )
            resolved += 1
    hook.touch()
    return JsonResponse({"service": service.slug, "firing": firing, "resolved": resolved})


# --- Status pages ---------------------------------------------------------------------------------------


def _cached(slug: str, what: str, build) -> str:
    """Return the cached text of the page `slug` (built with `build(page)` when due), or raise 404."""
    if len(slug) > 50:
        raise Http404("No status page here.")

    def build_or_missing():
        page = StatusPage.objects.filter(slug=slug, published=True).select_related("organization").first()
        return build(page) if page is not None else MISSING

    text = statuspage_cache.get_or_build(slug, what, build_or_missing)
    if text == MISSING:
        raise Http404("No status page here.")
    return text


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={settings.STATUS_PAGE_CACHE_SECONDS}"
    return response


def status_page(request, slug):
    """Show a published status page to anyone."""
    return _public(HttpResponse(_cached(slug, "html", _render_page)))


def status_feed(request, slug):
    """Serve the page's incidents as an Atom feed."""
    text = _cached(slug, "feed", _render_feed)
    return _public(HttpResponse(text, content_type="application/atom+xml; charset=utf-8"))


def _incidents(page):
    updates = Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created", "-id"))
    return page.incidents.prefetch_related(updates, "components")


def page_context(page, now=None) -> dict:
    """Return what the public page shows: components with state and bar, incidents, maintenance."""
    now = now or timezone.now()
    components = list(page.components.prefetch_related("monitors", "heartbeats"))
    service_ids = {m.service_id for c in components for m in c.monitors.all()}
    service_ids |= {h.service_id for c in components for h in c.heartbeats.all()}
    maintenance, held = [], set()
    windows = MaintenanceWindow.objects.filter(
        organization_id=page.organization_id, service_id__in=service_ids
    ).select_related("service")
    for window in windows:
        occurrence = statuspage_state.window_ahead(
            now, window.starts_at, window.ends_at, window.recurrence, window.until, window.timezone
        )
        if occurrence:
            active = occurrence[0] <= now
            if active:
                held.add(window.service_id)
            maintenance.append(
                {
                    "title": window.title,
                    "start": occurrence[0],
                    "end": occurrence[1],
                    "active": active,
                    "service": window.service.name,
                }
            )
    maintenance.sort(key=lambda w: w["start"])
    rows = []
    uptime_days = history.components_daily_uptime(components, days=90, now=now)
    for component in components:
        monitors, heartbeats = list(component.monitors.all()), list(component.heartbeats.all())
        services = {m.service_id for m in monitors} | {h.service_id for h in heartbeats}
        statuses = [m.status for m in monitors] + [h.status for h in heartbeats]
        state = statuspage_state.component_state(statuses, in_maintenance=bool(services & held))
        days = uptime_days[component.pk]
        uptime = statuspage_state.overall_uptime(days)
        rows.append(
            {
                "name": component.name,
                "state": state,
                "label": statuspage_state.LABELS[state],
                "bar": bar_svg(component.name, days),
                "uptime": uptime,
                "first_day": days[0][0] if days else None,
            }
        )
    incidents = _incidents(page)
    open_incidents = list(incidents.exclude(status=Incident.Status.RESOLVED))
    recent = list(incidents.filter(status=Incident.Status.RESOLVED, resolved__gte=now - RECENT)[:10])
    state = statuspage_state.overall_state(r["state"] for r in rows)
    banner = statuspage_state.BANNERS[state]
    if open_incidents and state in (statuspage_state.OPERATIONAL, statuspage_state.UNKNOWN):
        state, banner = statuspage_state.DEGRADED, "There is an ongoing incident"
    return {
        "page": page,
        "components": rows,
        "state": state,
        "banner": banner,
        "open_incidents": open_incidents,
        "recent_incidents": recent,
        "maintenance": maintenance,
        "now": now,
        "ttl": settings.STATUS_PAGE_CACHE_SECONDS,
        "feed_url": f"/status/{page.slug}/feed.atom",
    }


def bar_svg(name: str, days) -> str:
    """Return the inline SVG of a 90-day uptime bar (built here: 90 rectangles cost a template dearly)."""
    rects = format_html_join(
        "",
        '<rect x="{}" y="0" width="{}" height="24" class="{}"><title>{}</title></rect>',
        ((r["x"], r["width"], r["cls"], r["tip"]) for r in statuspage_state.bar(days)),
    )
    return format_html(
        '<svg class="uptime-bar" viewBox="0 0 {} 24" preserveAspectRatio="none" role="img" '
        'aria-label="Uptime of {} per day over the last 90 days">{}</svg>',
        max(len(days) * 5 - 1, 1),
        name,
        rects,
    )


def _render_page(page) -> str:
    # No request: the cached HTML must hold nothing of the visitor who happened to fill the cache.
    context = {**page_context(page), "SITE_NAME": settings.SITE_NAME}
    return render_to_string("monitoring/status/page.html", context)


def _render_feed(page) -> str:
    feed = Atom1Feed(
        title=f"{page.title}: incidents",
        link=page.public_url,
        description=page.description,
        feed_url=f"{page.public_url}feed.atom",
        language="en",
    )
    for incident in _incidents(page)[:FEED_ENTRIES]:
        updates = list(incident.updates.all())
        text = "".join(
            f"<p><strong>{escape(u.get_status_display())}</strong> "
            f"({u.created:%Y-%m-%d %H:%M} UTC)</p>{linebreaks(escape(u.body))}"
            for u in updates
        )
        feed.add_item(
            title=f"{incident.title} ({incident.get_status_display()})",
            link=f"{page.public_url}#incident-{incident.pk}",
            unique_id=f"{page.public_url}#incident-{incident.pk}",
            description=text or escape(incident.get_status_display()),
            pubdate=incident.started,
            updateddate=updates[0].created if updates else incident.started,
        )
    return feed.writeString("utf-8")
