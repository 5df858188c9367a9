"""Maintenance windows: hold notifications (findings are still recorded) for a service or all of them."""

from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.db.models import Q
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints, model_validator

from ..models import MaintenanceWindow, Service
from .base import NO_NUL, DateTime, Id, Page, Slug, errors, get_or_404, invalid, require, validate_as
from .services import service_or_404

router = Router(tags=["alerting"])

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)]
Recurrence = Literal["none", "daily", "weekly"]
LONGEST = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


class WindowOut(Schema):
    id: int
    title: str
    service: str | None = Field(..., description="The service's slug; null for every service.")
    starts_at: datetime
    ends_at: datetime
    recurrence: str
    until: datetime | None
    active: bool | None = Field(..., description="Whether the window holds notifications right now.")
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug if obj.service_id else None

    @staticmethod
    def resolve_active(obj):
        is_active = getattr(obj, "is_active", None)
        return bool(is_active(timezone.now())) if callable(is_active) else None


class WindowIn(Schema):
    title: Title
    service: Slug | None = Field(None, description="A service's slug; null (the default) for every service.")
    starts_at: DateTime
    ends_at: DateTime
    recurrence: Recurrence = "none"
    until: DateTime | None = Field(None, description="For recurring windows: the last time it applies.")

    @model_validator(mode="after")
    def consistent(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.recurrence in LONGEST and self.ends_at - self.starts_at >= LONGEST[self.recurrence]:
            raise ValueError(f"a {self.recurrence} window must be shorter than its period")
        if self.until is not None:
            if self.recurrence == "none":
                raise ValueError("until applies to recurring windows only; set recurrence or drop until")
            if self.until < self.starts_at:
                raise ValueError("until must not be before starts_at")
        return self


class WindowPatch(Schema):
    """Only the fields given change. `service` and `until` may be null."""

    title: Title = None
    service: Slug | None = None
    starts_at: DateTime = None
    ends_at: DateTime = None
    recurrence: Recurrence = None
    until: DateTime | None = None


def _windows(request):
    return MaintenanceWindow.objects.filter(organization=request.org).select_related("service")


def _window_or_404(request, id):
    return get_or_404(_windows(request), "maintenance window", id, pk=id)


def _save(request, window: MaintenanceWindow, data: WindowIn) -> MaintenanceWindow:
    window.service = None
    if data.service:
        window.service = Service.objects.filter(organization=request.org, slug=data.service).first()
        if window.service is None:
            raise invalid("service", f"no service {data.service!r} in this organization")
    for field in ("title", "starts_at", "ends_at", "recurrence", "until"):
        setattr(window, field, getattr(data, field))
    window.save()
    return window


@router.get(
    "/maintenance", response={200: list[WindowOut], **errors(404, 422)}, summary="List maintenance windows"
)
@paginate(Page)
def list_windows(request, service: Slug | None = None):
    """List maintenance windows by start, optionally only those of one service (and the organization-wide)."""
    windows = _windows(request).order_by("starts_at", "id")
    if service:
        windows = windows.filter(Q(service=service_or_404(request, service)) | Q(service=None))
    return windows


@router.post(
    "/maintenance", response={201: WindowOut, **errors(401, 403, 422)}, summary="Create a maintenance window"
)
def create_window(request, payload: WindowIn):
    """Create a one-off or recurring maintenance window."""
    require(request, "manage_alerting")
    return Status(201, _save(request, MaintenanceWindow(organization=request.org), payload))


@router.get(
    "/maintenance/{id}",
    response={200: WindowOut, **errors(401, 404, 422)},
    summary="Get a maintenance window",
)
def get_window(request, id: Id):
    """Return one maintenance window."""
    return _window_or_404(request, id)


@router.patch(
    "/maintenance/{id}",
    response={200: WindowOut, **errors(401, 403, 404, 422)},
    summary="Change a maintenance window",
)
def update_window(request, id: Id, payload: WindowPatch):
    """Change the fields given."""
    require(request, "manage_alerting")
    window = _window_or_404(request, id)
    current = {
        "title": window.title,
        "service": window.service.slug if window.service_id else None,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "recurrence": window.recurrence,
        "until": window.until,
    }
    merged = validate_as(WindowIn, {**current, **payload.model_dump(exclude_unset=True)})
    return _save(request, window, merged)


@router.delete(
    "/maintenance/{id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a maintenance window",
)
def delete_window(request, id: Id):
    """Delete a maintenance window."""
    require(request, "manage_alerting")
    _window_or_404(request, id).delete()
    return Status(204, None)
