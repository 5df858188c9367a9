"""Uptime monitors: /services/{slug}/monitors[/{id}[/pause|/resume|/results|/uptime]]."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StringConstraints, model_validator

from keepwell.core.api.base import (
    NO_NUL,
    Id,
    Name,
    Page,
    Slug,
    Text,
    errors,
    get_or_404,
    invalid,
    require,
    validate_as,
)
from keepwell.core.api.services import service_or_404
from keepwell.core.netguard import BlockedTarget, check_host

from . import history, probes, state
from .models import CheckResult, Monitor
from .rollups import merge

router = Router(tags=["monitoring"])

Kind = Literal["http", "tcp", "dns", "tls"]
StatusName = Literal["pending", "up", "down", "unreachable", "paused"]
Target = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL)
]
Interval = Annotated[int, Field(ge=20, le=86400, description="Seconds between checks (20 s to 24 h).")]
Timeout = Annotated[int, Field(ge=1, le=120, description="Seconds before a check fails (1-120).")]
Retries = Annotated[int, Field(ge=1, le=10, description="Failed checks in a row before down (1-10).")]
Locations = Annotated[int, Field(ge=1, le=10, description="Locations that must agree before down (1-10).")]


class MonitorOut(Schema):
    id: int
    service: str
    name: str
    kind: str
    target: str
    url: str | None = Field(..., description="The target, for http and tls monitors.")
    config: dict[str, Any]
    interval: int
    timeout: int
    retries: int
    depends_on: int | None
    locations_required: int
    paused: bool
    status: str = Field(..., description="pending, up, down, unreachable or paused.")
    status_changed_at: datetime | None
    flapping: bool
    last_checked: datetime | None
    last_latency_ms: int | None
    last_error: str
    next_check_at: datetime
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug

    @staticmethod
    def resolve_url(obj):
        return obj.target if obj.kind in ("http", "tls") else None

    @staticmethod
    def resolve_config(obj):
        # Header values that look like credentials are never shown back in full (see probes.redact).
        return probes.redact(obj.config if isinstance(obj.config, dict) else {})

    @staticmethod
    def resolve_depends_on(obj):
        return obj.depends_on_id


class MonitorIn(Schema):
    name: Name
    kind: Kind = "http"
    url: Target | None = Field(None, description="The URL (http) or host[:port] (tls); same as target.")
    target: Target | None = Field(
        None, description="http: a URL; tcp: host:port; dns: a domain name; tls: host[:port]."
    )
    config: dict[str, Any] = Field(
        {},
        description="Options of the kind: http method, headers, body, expected_statuses, keyword, "
        "keyword_absent, json_path, json_expected, follow_redirects, max_response_ms; dns record_type, "
        "expected, nameserver, port; tls days_before_expiry, check_hostname, check_chain.",
    )
    interval: Interval = 60
    timeout: Timeout = 10
    retries: Retries = 1
    depends_on: Id | None = Field(None, description="The id of a monitor this one depends on.")
    locations_required: Locations = 1
    paused: StrictBool = False

    @model_validator(mode="after")
    def one_target(self):
        if self.url and self.target and self.url != self.target:
            raise ValueError("give url or target, not two different values")
        if not (self.url or self.target):
            raise ValueError("give the target to check: url for http and tls, target for any kind")
        if self.timeout > self.interval:
            raise ValueError("timeout must not be longer than interval")
        return self


class MonitorPatch(Schema):
    """Only the fields given change; `depends_on` may be null."""

    name: Name = None
    kind: Kind = None
    url: Target = None
    target: Target = None
    config: dict[str, Any] = None
    interval: Interval = None
    timeout: Timeout = None
    retries: Retries = None
    depends_on: Id | None = None
    locations_required: Locations = None


class ResultOut(Schema):
    checked_at: datetime
    ok: bool
    latency_ms: int | None
    status_code: int | None
    error: str
    location: str


class DayOut(Schema):
    date: date
    uptime: float | None = Field(..., description="Percent of checks that passed; null without checks.")
    checks: int
    failures: int
    p50: int | None = Field(..., description="Median latency in ms.")
    p95: int | None


class UptimeOut(Schema):
    days: list[DayOut]
    uptime: float | None = Field(..., description="Over all the days given.")
    checks: int
    p50: int | None
    p95: int | None


def _monitors(request, slug):
    service = service_or_404(request, slug)
    return Monitor.objects.filter(organization=request.org, service=service).select_related(
        "service", "organization"
    )


def _monitor_or_404(request, slug, id):
    return get_or_404(_monitors(request, slug), "monitor", id, pk=id)


def _refuse_private(host: str) -> None:
    """Refuse a literal loopback or private address up front; names are checked at each check."""
    if settings.ALLOW_PRIVATE_TARGETS or not probes.is_literal_address(host):
        return
    try:
        check_host(host)
    except BlockedTarget as exc:
        raise invalid("target", str(exc))


def _save(request, monitor: Monitor, data: MonitorIn) -> Monitor:
    try:
        target, config = probes.validate(data.kind, data.url or data.target, data.config)
    except ValueError as exc:
        raise invalid("config" if "option" in str(exc) or "config" in str(exc) else "target", str(exc))
    _refuse_private(probes.host_of(data.kind, target))
    if config.get("nameserver"):
        _refuse_private(config["nameserver"])
    monitor.depends_on = None
    if data.depends_on is not None:
        parent = Monitor.objects.filter(organization=request.org, pk=data.depends_on).first()
        if parent is None:
            raise invalid("depends_on", f"no monitor {data.depends_on} in this organization")
        ancestor, hops = parent, 0
        while ancestor is not None and hops < 100:
            if monitor.pk and ancestor.pk == monitor.pk:
                raise invalid("depends_on", "a monitor cannot depend on itself, directly or through others")
            ancestor, hops = ancestor.depends_on, hops + 1
        monitor.depends_on = parent
    reschedule = monitor.pk is None or (monitor.kind, monitor.target, monitor.config) != (
        data.kind,
        target,
        config,
    )
    monitor.name, monitor.kind, monitor.target, monitor.config = data.name, data.kind, target, config
    monitor.interval, monitor.timeout, monitor.retries = data.interval, data.timeout, data.retries
    monitor.locations_required = data.locations_required
    if reschedule or (monitor.next_check_at or timezone.now()) > timezone.now() + timedelta(
        seconds=data.interval
    ):
        monitor.next_check_at = timezone.now()
    monitor.save()
    return monitor


def _filter(monitors, status, kind, search):
    if status:
        monitors = monitors.filter(status=status)
    if kind:
        monitors = monitors.filter(kind=kind)
    if search and search.strip():
        monitors = monitors.filter(Q(name__icontains=search.strip()) | Q(target__icontains=search.strip()))
    return monitors


@router.get(
    "/services/{slug}/monitors",
    response={200: list[MonitorOut], **errors(401, 404, 422)},
    summary="List a service's monitors",
)
@paginate(Page)
def list_monitors(
    request, slug: Slug, status: StatusName | None = None, kind: Kind | None = None, search: Text = ""
):
    """List the service's monitors by name; filter by `status` and `kind`, `search` names and targets."""
    return _filter(_monitors(request, slug), status, kind, search).order_by("name", "id")


@router.post(
    "/services/{slug}/monitors",
    response={201: MonitorOut, **errors(401, 403, 404, 422)},
    summary="Create a monitor",
)
def create_monitor(request, slug: Slug, payload: MonitorIn):
    """Create an uptime monitor; it is checked at once, then every `interval` seconds."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    monitor = _save(request, Monitor(organization=request.org, service=service), payload)
    if payload.paused:
        state.pause(monitor)
    return Status(201, monitor)


@router.get(
    "/services/{slug}/monitors/{id}",
    response={200: MonitorOut, **errors(401, 404, 422)},
    summary="Get a monitor",
)
def get_monitor(request, slug: Slug, id: Id):
    """Return one monitor with its status and last check."""
    return _monitor_or_404(request, slug, id)


@router.patch(
    "/services/{slug}/monitors/{id}",
    response={200: MonitorOut, **errors(401, 403, 404, 422)},
    summary="Change a monitor",
)
def update_monitor(request, slug: Slug, id: Id, payload: MonitorPatch):
    """Change the fields given; a new target or config is checked at once."""
    require(request, "manage_services")
    monitor = _monitor_or_404(request, slug, id)
    current = {
        "name": monitor.name,
        "kind": monitor.kind,
        "target": monitor.target,
        "config": monitor.config if isinstance(monitor.config, dict) else {},
        "interval": monitor.interval,
        "timeout": monitor.timeout,
        "retries": monitor.retries,
        "depends_on": monitor.depends_on_id,
        "locations_required": monitor.locations_required,
    }
    given = payload.model_dump(exclude_unset=True)
    if "url" in given:
        given["target"] = given.pop("url")
    if "kind" in given and given["kind"] != monitor.kind and "config" not in given:
        given["config"] = {}  # options of another kind do not carry over
    if isinstance(given.get("config"), dict):
        given["config"] = probes.unredact(given["config"], current["config"])
    merged = validate_as(MonitorIn, {**current, **given})
    return _save(request, monitor, merged)


@router.post(
    "/services/{slug}/monitors/{id}/pause",
    response={200: MonitorOut, **errors(401, 403, 404, 422)},
    summary="Pause a monitor",
)
def pause_monitor(request, slug: Slug, id: Id):
    """Stop checking; its open finding is resolved."""
    require(request, "manage_services")
    return state.pause(_monitor_or_404(request, slug, id))


@router.post(
    "/services/{slug}/monitors/{id}/resume",
    response={200: MonitorOut, **errors(401, 403, 404, 422)},
    summary="Resume a monitor",
)
def resume_monitor(request, slug: Slug, id: Id):
    """Check again from now on; the status starts from pending."""
    require(request, "manage_services")
    return state.resume(_monitor_or_404(request, slug, id))


@router.delete(
    "/services/{slug}/monitors/{id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a monitor",
)
def delete_monitor(request, slug: Slug, id: Id):
    """Delete a monitor with its history; its open finding is resolved."""
    require(request, "manage_services")
    state.forget(_monitor_or_404(request, slug, id))
    return Status(204, None)


@router.get(
    "/services/{slug}/monitors/{id}/results",
    response={200: list[ResultOut], **errors(401, 404, 422)},
    summary="A monitor's check results",
)
@paginate(Page)
def list_results(request, slug: Slug, id: Id, ok: bool | None = None, location: Text = ""):
    """The raw check results of the last 7 days, newest first; filter by `ok` and `location`."""
    results = CheckResult.objects.filter(monitor=_monitor_or_404(request, slug, id)).order_by(
        "-checked_at", "-id"
    )
    if ok is not None:
        results = results.filter(ok=ok)
    if location:
        results = results.filter(location=location)
    return results


@router.get(
    "/services/{slug}/monitors/{id}/uptime",
    response={200: UptimeOut, **errors(401, 404, 422)},
    summary="A monitor's daily uptime and latency",
)
def monitor_uptime(request, slug: Slug, id: Id, days: Annotated[int, Field(ge=1, le=366)] = 90):
    """Uptime % and latency p50/p95 per UTC day for the last `days` days (default 90), oldest first."""
    monitor = _monitor_or_404(request, slug, id)
    stats = history.daily_stats(monitor, days=days)
    total = merge(bucket for _day, bucket in stats)
    return {
        "days": [
            {
                "date": day,
                "uptime": b.uptime,
                "checks": b.checks,
                "failures": b.failures,
                "p50": b.latency_p50,
                "p95": b.latency_p95,
            }
            for day, b in stats
        ],
        "uptime": total.uptime,
        "checks": total.checks,
        "p50": total.latency_p50,
        "p95": total.latency_p95,
    }
