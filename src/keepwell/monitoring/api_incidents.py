"""Incidents on status pages, with their timed updates."""

from datetime import datetime
from typing import Annotated, Literal

from django.db import transaction
from django.db.models import Prefetch
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from keepwell.core.api.base import NO_NUL, Id, Name, Page, errors, get_or_404, invalid, require

from .models import Incident, IncidentUpdate, StatusPage

router = Router(tags=["monitoring"])

UpdateText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=NO_NUL)
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]


class UpdateOut(Schema):
    id: int
    status: str
    body: str
    created: datetime


class IncidentOut(Schema):
    id: int
    title: str
    status: str
    started: datetime
    resolved: datetime | None
    components: list[int]
    updates: list[UpdateOut]

    @staticmethod
    def resolve_components(obj):
        return [c.pk for c in obj.components.all()]

    @staticmethod
    def resolve_updates(obj):
        return list(obj.updates.all())


class IncidentIn(Schema):
    title: Name
    status: IncidentStatus = "investigating"
    body: UpdateText = Field(..., description="The first update: what visitors should know now.")
    components: list[Id] = Field([], max_length=200, description="Ids of the page's affected components.")


class IncidentPatch(Schema):
    title: Name = None
    components: list[Id] = Field(None, max_length=200)


class UpdateIn(Schema):
    status: IncidentStatus
    body: UpdateText


def _incidents(page):
    updates = Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created", "-id"))
    return page.incidents.prefetch_related(updates, "components")


def _chosen_components(page, ids):
    ids = list(dict.fromkeys(ids))
    found = list(page.components.filter(pk__in=ids))
    missing = sorted(set(ids) - {c.pk for c in found})
    if missing:
        raise invalid("components", f"no component {', '.join(map(str, missing))} on this status page")
    return found


def _page_or_404(request, id):
    return get_or_404(StatusPage.objects.filter(organization=request.org), "status page", id, pk=id)


# --- Incidents ------------------------------------------------------------------------------------------


@router.get(
    "/status-pages/{id}/incidents",
    response={200: list[IncidentOut], **errors(401, 404, 422)},
    summary="List a status page's incidents",
)
@paginate(Page)
def list_incidents(request, id: Id, status: IncidentStatus | None = None):
    """List incidents, newest first, with their updates; `status` filters."""
    incidents = _incidents(_page_or_404(request, id))
    return incidents.filter(status=status) if status else incidents


@router.post(
    "/status-pages/{id}/incidents",
    response={201: IncidentOut, **errors(401, 403, 404, 422)},
    summary="Post an incident",
)
def create_incident(request, id: Id, payload: IncidentIn):
    """Post an incident with its first update; it shows on the public page at once."""
    require(request, "act")
    page = _page_or_404(request, id)
    components = _chosen_components(page, payload.components)
    with transaction.atomic():
        incident = Incident.objects.create(page=page, title=payload.title, status=payload.status)
        incident.components.set(components)
        incident.add_update(payload.status, payload.body)
    return Status(201, _incidents(page).get(pk=incident.pk))


def _incident_or_404(request, id, incident_id):
    page = _page_or_404(request, id)
    return page, get_or_404(_incidents(page), "incident", incident_id, pk=incident_id)


@router.get(
    "/status-pages/{id}/incidents/{incident_id}",
    response={200: IncidentOut, **errors(401, 404, 422)},
    summary="Get an incident",
)
def get_incident(request, id: Id, incident_id: Id):
    """Return one incident with its updates."""
    return _incident_or_404(request, id, incident_id)[1]


@router.patch(
    "/status-pages/{id}/incidents/{incident_id}",
    response={200: IncidentOut, **errors(401, 403, 404, 422)},
    summary="Change an incident",
)
def update_incident(request, id: Id, incident_id: Id, payload: IncidentPatch):
    """Change the title or the affected components (post an update to change the status)."""
    require(request, "act")
    page, incident = _incident_or_404(request, id, incident_id)
    components = _chosen_components(page, payload.components) if payload.components is not None else None
    with transaction.atomic():
        if payload.title is not None:
            incident.title = payload.title
            incident.save(update_fields=["title"])
        if components is not None:
            incident.components.set(components)
    return _incidents(page).get(pk=incident.pk)


@router.delete(
    "/status-pages/{id}/incidents/{incident_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete an incident",
)
def delete_incident(request, id: Id, incident_id: Id):
    """Delete an incident and its updates (e.g. one posted by mistake)."""
    require(request, "act")
    _incident_or_404(request, id, incident_id)[1].delete()
    return Status(204, None)


@router.post(
    "/status-pages/{id}/incidents/{incident_id}/updates",
    response={201: IncidentOut, **errors(401, 403, 404, 422)},
    summary="Post an incident update",
)
def create_update(request, id: Id, incident_id: Id, payload: UpdateIn):
    """Post a timed update; the incident takes its status (resolved sets the time it was resolved)."""
    require(request, "act")
    page, incident = _incident_or_404(request, id, incident_id)
    incident.add_update(payload.status, payload.body)
    return Status(201, _incidents(page).get(pk=incident.pk))
