"""Status pages and their components; incidents (api_incidents.py) and Alertmanager hooks (api_alertmanager.py)."""

from datetime import datetime
from uuid import UUID

from django.db import transaction
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool

from keepwell.core.api.base import (
    Id,
    Name,
    Page,
    Slug,
    Text,
    errors,
    get_or_404,
    invalid,
    require,
    save_or_409,
)

from . import statuspage_state
from .models import StatusComponent, StatusPage

router = Router(tags=["monitoring"])


# --- Schemas --------------------------------------------------------------------------------------------


class StatusPageOut(Schema):
    id: int
    slug: str
    title: str
    description: str
    published: bool
    public_url: str
    created: datetime


class StatusPageIn(Schema):
    title: Name
    slug: Slug = Field(..., description="The page is public at /status/<slug>/; unique across keepwell.")
    description: Text = ""
    published: StrictBool = True


class StatusPagePatch(Schema):
    """Only the fields given change."""

    title: Name = None
    slug: Slug = None
    description: Text = None
    published: StrictBool = None


class ComponentOut(Schema):
    id: int
    name: str
    position: int
    monitors: list[int]
    heartbeats: list[UUID]
    state: str = Field(
        ..., description="operational, degraded, outage or unknown (maintenance shows publicly)."
    )

    @staticmethod
    def resolve_monitors(obj):
        return [m.pk for m in obj.monitors.all()]

    @staticmethod
    def resolve_heartbeats(obj):
        return [h.uuid for h in obj.heartbeats.all()]

    @staticmethod
    def resolve_state(obj):
        statuses = [m.status for m in obj.monitors.all()] + [h.status for h in obj.heartbeats.all()]
        return statuspage_state.component_state(statuses)


class ComponentIn(Schema):
    name: Name
    position: int = Field(0, ge=0, le=32767, description="Components are listed by this number.")
    monitors: list[Id] = Field([], max_length=1000, description="Ids of the organization's monitors.")
    heartbeats: list[UUID] = Field([], max_length=1000, description="UUIDs of the organization's heartbeats.")


class ComponentPatch(Schema):
    name: Name = None
    position: int = Field(None, ge=0, le=32767)
    monitors: list[Id] = Field(None, max_length=1000)
    heartbeats: list[UUID] = Field(None, max_length=1000)


# --- Look-ups -------------------------------------------------------------------------------------------


def _pages(request):
    return StatusPage.objects.filter(organization=request.org)


def _page_or_404(request, id) -> StatusPage:
    return get_or_404(_pages(request), "status page", id, pk=id)


def _taken(slug: str) -> str:
    return f"The status page address /status/{slug}/ is taken; choose another slug."


def _components(page):
    return page.components.prefetch_related("monitors", "heartbeats")


def _chosen_monitors(request, ids):
    ids = list(dict.fromkeys(ids))
    found = list(request.org.monitors.filter(pk__in=ids))
    missing = sorted(set(ids) - {m.pk for m in found})
    if missing:
        raise invalid("monitors", f"no monitor {', '.join(map(str, missing))} in this organization")
    return found


def _chosen_heartbeats(request, uuids):
    uuids = list(dict.fromkeys(uuids))
    found = list(request.org.heartbeats.filter(uuid__in=uuids))
    missing = sorted(str(u) for u in set(uuids) - {h.uuid for h in found})
    if missing:
        raise invalid("heartbeats", f"no heartbeat {', '.join(missing)} in this organization")
    return found


# --- Pages ----------------------------------------------------------------------------------------------


@router.get(
    "/status-pages", response={200: list[StatusPageOut], **errors(401, 422)}, summary="List status pages"
)
@paginate(Page)
def list_pages(request):
    """List the organization's status pages by title."""
    return _pages(request).order_by("title", "id")


@router.post(
    "/status-pages",
    response={201: StatusPageOut, **errors(401, 403, 409, 422)},
    summary="Create a status page",
)
def create_page(request, payload: StatusPageIn):
    """Create a public status page at /status/<slug>/."""
    require(request, "manage_services")
    if StatusPage.objects.filter(slug=payload.slug).exists():
        return Status(409, {"detail": _taken(payload.slug)})
    page = StatusPage(organization=request.org, **payload.model_dump())
    return Status(201, save_or_409(page, _taken(payload.slug)))


@router.get(
    "/status-pages/{id}", response={200: StatusPageOut, **errors(401, 404, 422)}, summary="Get a status page"
)
def get_page(request, id: Id):
    """Return one status page."""
    return _page_or_404(request, id)


@router.patch(
    "/status-pages/{id}",
    response={200: StatusPageOut, **errors(401, 403, 404, 409, 422)},
    summary="Change a status page",
)
def update_page(request, id: Id, payload: StatusPagePatch):
    """Change the fields given."""
    require(request, "manage_services")
    page = _page_or_404(request, id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    if (
        changes.get("slug", page.slug) != page.slug
        and StatusPage.objects.filter(slug=changes["slug"]).exists()
    ):
        return Status(409, {"detail": _taken(changes["slug"])})
    for field, value in changes.items():
        setattr(page, field, value)
    return save_or_409(page, _taken(page.slug))


@router.delete(
    "/status-pages/{id}", response={204: None, **errors(401, 403, 404, 422)}, summary="Delete a status page"
)
def delete_page(request, id: Id):
    """Delete a status page with its components and incidents; its address answers 404."""
    require(request, "manage_services")
    _page_or_404(request, id).delete()
    return Status(204, None)


# --- Components -----------------------------------------------------------------------------------------


@router.get(
    "/status-pages/{id}/components",
    response={200: list[ComponentOut], **errors(401, 404, 422)},
    summary="List a status page's components",
)
def list_components(request, id: Id):
    """List the components in the order the page shows them, with their current state."""
    return list(_components(_page_or_404(request, id)))


@router.post(
    "/status-pages/{id}/components",
    response={201: ComponentOut, **errors(401, 403, 404, 422)},
    summary="Add a component",
)
def create_component(request, id: Id, payload: ComponentIn):
    """Add a component showing the given monitors and heartbeats."""
    require(request, "manage_services")
    page = _page_or_404(request, id)
    monitors = _chosen_monitors(request, payload.monitors)
    heartbeats = _chosen_heartbeats(request, payload.heartbeats)
    with transaction.atomic():
        component = StatusComponent.objects.create(page=page, name=payload.name, position=payload.position)
        component.monitors.set(monitors)
        component.heartbeats.set(heartbeats)
    return Status(201, _components(page).get(pk=component.pk))


def _component_or_404(request, id, component_id):
    page = _page_or_404(request, id)
    return page, get_or_404(_components(page), "component", component_id, pk=component_id)


@router.patch(
    "/status-pages/{id}/components/{component_id}",
    response={200: ComponentOut, **errors(401, 403, 404, 422)},
    summary="Change a component",
)
def update_component(request, id: Id, component_id: Id, payload: ComponentPatch):
    """Change the fields given; monitors and heartbeats, when given, replace the current ones."""
    require(request, "manage_services")
    page, component = _component_or_404(request, id, component_id)
    monitors = _chosen_monitors(request, payload.monitors) if payload.monitors is not None else None
    heartbeats = _chosen_heartbeats(request, payload.heartbeats) if payload.heartbeats is not None else None
    with transaction.atomic():
        if payload.name is not None:
            component.name = payload.name
        if payload.position is not None:
            component.position = payload.position
        component.save()
        if monitors is not None:
            component.monitors.set(monitors)
        if heartbeats is not None:
            component.heartbeats.set(heartbeats)
    return _components(page).get(pk=component.pk)


@router.delete(
    "/status-pages/{id}/components/{component_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a component",
)
def delete_component(request, id: Id, component_id: Id):
    """Remove a component from the page."""
    require(request, "manage_services")
    _component_or_404(request, id, component_id)[1].delete()
    return Status(204, None)


# The two other resources of status pages, in their own modules, share this router's mount point.
from . import api_alertmanager, api_incidents  # noqa: E402

router.add_router("", api_incidents.router)
router.add_router("", api_alertmanager.router)
