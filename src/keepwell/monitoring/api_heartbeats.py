"""Heartbeats: /services/{slug}/heartbeats[/{uuid}[/pause|/resume|/pings]] and the organization's ping key."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from django.db import transaction
from django.utils.text import slugify
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import StringConstraints, field_validator

from keepwell.core import cron
from keepwell.core.api.base import NO_NUL, Name, Page, errors, get_or_404, invalid, require
from keepwell.core.api.services import service_or_404

from . import heartbeats, schedules
from .models import Heartbeat, PingKey

router = Router(tags=["monitoring"])

Seconds = Annotated[int, Field(ge=schedules.MIN_PERIOD, le=schedules.MAX_PERIOD)]
HeartbeatSlug = Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]*$", max_length=100)]
Cron = Annotated[str, StringConstraints(max_length=cron.MAX_CRON, pattern=NO_NUL)]
Zone = Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]
StatusName = Literal["new", "up", "down", "started", "paused"]


class HeartbeatOut(Schema):
    uuid: UUID
    service: str
    name: str
    slug: str
    kind: str
    period: int
    grace: int
    schedule: str
    tz: str
    status: str
    last_ping: datetime | None
    last_start: datetime | None
    last_duration: float | None = Field(description="Seconds the last run took (start to finish).")
    n_pings: int
    alert_after: datetime | None = Field(description="When it goes down if no ping arrives.")
    ping_url: str
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug

    @staticmethod
    def resolve_last_duration(obj):
        return obj.last_duration.total_seconds() if obj.last_duration is not None else None


class HeartbeatIn(Schema):
    name: Name
    slug: HeartbeatSlug = Field("", description="For /ping/<ping-key>/<slug>; made from the name when empty.")
    period: Seconds | None = Field(
        None, description="Seconds between pings (60 to a year); or give schedule."
    )
    grace: Seconds = Field(3600, description="Seconds a ping may be late before the heartbeat is down.")
    schedule: Cron = Field("", description="A cron expression (e.g. '0 3 * * *'), instead of period.")
    tz: Zone = Field("UTC", description="The time zone of schedule, e.g. Europe/Berlin.")


class HeartbeatPatch(Schema):
    """Only the fields given change; none may be null. Give period to switch to period, schedule to cron."""

    name: Name = None
    slug: HeartbeatSlug = None
    period: Seconds = None
    grace: Seconds = None
    schedule: Cron = None
    tz: Zone = None

    @field_validator("*")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value


class PingOut(Schema):
    n: int
    kind: str
    created: datetime
    exit_status: int | None
    rid: UUID | None
    duration: float | None = Field(description="Seconds since the matching start ping.")
    method: str
    remote_addr: str | None
    user_agent: str
    body: str = Field(description="The request body as text (invalid UTF-8 replaced).")
    body_truncated: bool

    @staticmethod
    def resolve_duration(obj):
        return obj.duration.total_seconds() if obj.duration is not None else None

    @staticmethod
    def resolve_body(obj):
        return bytes(obj.body).decode("utf-8", errors="replace")


class PingKeyOut(Schema):
    key: str
    url_prefix: str = Field(description="Ping /<url_prefix>/<slug>; see docs/heartbeats.md.")
    created: datetime

    @staticmethod
    def resolve_url_prefix(obj):
        from django.conf import settings

        return f"{settings.BASE_URL}/ping/{obj.key}"


def _heartbeats(request, slug):
    service = service_or_404(request, slug)
    return service, Heartbeat.objects.filter(organization=request.org, service=service).select_related(
        "service"
    )


def _heartbeat_or_404(request, slug, uuid):
    _, queryset = _heartbeats(request, slug)
    return get_or_404(queryset, "heartbeat", str(uuid), uuid=uuid)


def _apply_schedule(hb, *, period=None, schedule=None, tz=None, grace=None):
    """Set the schedule fields given, validated; raise a 422 naming the field that is wrong."""
    if period is not None and schedule:
        raise invalid("schedule", "give either period (seconds) or schedule (cron), not both")
    if tz is not None:
        try:
            cron.zone(tz)
        except ValueError as exc:
            raise invalid("tz", str(exc))
        hb.tz = tz
    if schedule:
        try:
            hb.schedule = cron.validate_cron(schedule, hb.tz, noun="cron expression")
        except ValueError as exc:
            raise invalid("schedule", str(exc))
        hb.kind = Heartbeat.Kind.CRON
    elif period is not None:
        hb.kind, hb.period, hb.schedule = Heartbeat.Kind.PERIOD, period, ""
    if grace is not None:
        hb.grace = grace


@router.get(
    "/services/{slug}/heartbeats",
    response={200: list[HeartbeatOut], **errors(401, 404, 422)},
    summary="List heartbeats",
)
@paginate(Page)
def list_heartbeats(request, slug: str, status: StatusName | None = None):
    """List a service's heartbeats by name; `status` keeps those in one status."""
    _, queryset = _heartbeats(request, slug)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("name", "id")


@router.post(
    "/services/{slug}/heartbeats",
    response={201: HeartbeatOut, **errors(401, 403, 404, 422)},
    summary="Create a heartbeat",
)
def create_heartbeat(request, slug: str, payload: HeartbeatIn):
    """Create a heartbeat with a period or a cron schedule; answers its `uuid` and `ping_url`."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    if payload.period is None and not payload.schedule:
        raise invalid("period", "give period (seconds between pings) or schedule (a cron expression)")
    hb = Heartbeat(organization=request.org, service=service, name=payload.name)
    hb.slug = payload.slug or slugify(payload.name)[:100]
    _apply_schedule(hb, period=payload.period, schedule=payload.schedule, tz=payload.tz, grace=payload.grace)
    hb.save()
    return Status(201, hb)


@router.get(
    "/services/{slug}/heartbeats/{uuid}",
    response={200: HeartbeatOut, **errors(401, 404, 422)},
    summary="Get a heartbeat",
)
def get_heartbeat(request, slug: str, uuid: UUID):
    """Return one heartbeat with its `status`, `last_ping` and `n_pings`."""
    return _heartbeat_or_404(request, slug, uuid)


@router.patch(
    "/services/{slug}/heartbeats/{uuid}",
    response={200: HeartbeatOut, **errors(401, 403, 404, 422)},
    summary="Change a heartbeat",
)
def update_heartbeat(request, slug: str, uuid: UUID, payload: HeartbeatPatch):
    """Change the fields given; a new schedule or grace moves the deadline at once."""
    require(request, "manage_services")
    hb = _heartbeat_or_404(request, slug, uuid)
    data = payload.model_dump(exclude_unset=True)
    with transaction.atomic():
        if "name" in data:
            hb.name = data["name"]
        if "slug" in data:
            hb.slug = data["slug"]
        _apply_schedule(
            hb,
            period=data.get("period"),
            schedule=data.get("schedule"),
            tz=data.get("tz"),
            grace=data.get("grace"),
        )
        hb.save(update_fields=["name", "slug", "kind", "period", "grace", "schedule", "tz"])
        heartbeats.reschedule(hb)
    return hb


@router.post(
    "/services/{slug}/heartbeats/{uuid}/pause",
    response={200: HeartbeatOut, **errors(401, 403, 404, 422)},
    summary="Pause a heartbeat",
)
def pause_heartbeat(request, slug: str, uuid: UUID):
    """Pause: no alerts until resumed or pinged again; an open finding is resolved."""
    require(request, "act")
    hb = _heartbeat_or_404(request, slug, uuid)
    heartbeats.pause(hb)
    return hb


@router.post(
    "/services/{slug}/heartbeats/{uuid}/resume",
    response={200: HeartbeatOut, **errors(401, 403, 404, 422)},
    summary="Resume a heartbeat",
)
def resume_heartbeat(request, slug: str, uuid: UUID):
    """Resume a paused heartbeat: it is `new` until its next ping."""
    require(request, "act")
    hb = _heartbeat_or_404(request, slug, uuid)
    heartbeats.resume(hb)
    return hb


@router.delete(
    "/services/{slug}/heartbeats/{uuid}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a heartbeat",
)
def delete_heartbeat(request, slug: str, uuid: UUID):
    """Delete a heartbeat and its ping log; its finding is resolved."""
    require(request, "manage_services")
    hb = _heartbeat_or_404(request, slug, uuid)
    with transaction.atomic():
        heartbeats.pause(hb)
        hb.delete()
    return Status(204, None)


@router.get(
    "/services/{slug}/heartbeats/{uuid}/pings",
    response={200: list[PingOut], **errors(401, 404, 422)},
    summary="A heartbeat's ping log",
)
@paginate(Page)
def list_pings(
    request, slug: str, uuid: UUID, kind: Literal["success", "start", "fail", "log"] | None = None
):
    """The ping log, newest first, with each request's body; `kind` keeps one kind."""
    hb = _heartbeat_or_404(request, slug, uuid)
    pings = hb.pings.order_by("-n")
    if kind:
        pings = pings.filter(kind=kind)
    return pings


@router.get("/ping-key", response={200: PingKeyOut, **errors(401, 404)}, summary="The ping key")
def get_ping_key(request):
    """Return the organization's ping key for /ping/<ping-key>/<slug> URLs (404 until one is created)."""
    row = PingKey.objects.filter(organization=request.org).first()
    if row is None:
        raise HttpError(404, "This organization has no ping key yet: POST /api/v1/ping-key creates one.")
    return row


@router.post(
    "/ping-key", response={201: PingKeyOut, **errors(401, 403)}, summary="Create or rotate the ping key"
)
def rotate_ping_key(request):
    """Create the organization's ping key, or replace it (the old slug URLs stop working)."""
    require(request, "manage_services")
    return Status(201, PingKey.for_organization(request.org, rotate=True))
