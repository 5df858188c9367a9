"""Alertmanager hooks: the URLs whose alerts become findings of a service (see views_public.py)."""

from datetime import datetime

from ninja import Field, Router, Schema, Status

from keepwell.core.api.base import Id, Name, Slug, errors, get_or_404, require
from keepwell.core.api.services import service_or_404

from .models import AlertmanagerHook

router = Router(tags=["monitoring"])


class HookOut(Schema):
    id: int
    name: str
    service: str
    prefix: str
    created: datetime
    last_received: datetime | None

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug


class HookCreated(HookOut):
    url: str = Field(..., description="The URL for alertmanager.yml, with the token; shown this once.")


class HookIn(Schema):
    name: Name = "Alertmanager"


# --- Alertmanager hooks ---------------------------------------------------------------------------------


@router.get(
    "/services/{slug}/alertmanager-hooks",
    response={200: list[HookOut], **errors(401, 404, 422)},
    summary="List a service's Alertmanager hooks",
)
def list_hooks(request, slug: Slug):
    """List the hooks whose alerts become findings of this service (tokens are never shown again)."""
    service = service_or_404(request, slug)
    return list(
        AlertmanagerHook.objects.filter(organization=request.org, service=service).select_related("service")
    )


@router.post(
    "/services/{slug}/alertmanager-hooks",
    response={201: HookCreated, **errors(401, 403, 404, 422)},
    summary="Create an Alertmanager hook",
)
def create_hook(request, slug: Slug, payload: HookIn):
    """Create a hook; the answer's `url` (with the token) is shown this once."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    hook, token = AlertmanagerHook.issue(service, payload.name)
    hook.url = AlertmanagerHook.url_for(token)
    return Status(201, hook)


@router.delete(
    "/services/{slug}/alertmanager-hooks/{id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete an Alertmanager hook",
)
def delete_hook(request, slug: Slug, id: Id):
    """Delete a hook: posts to its URL are answered 404 from now on."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    get_or_404(
        AlertmanagerHook.objects.filter(organization=request.org, service=service), "hook", id, pk=id
    ).delete()
    return Status(204, None)
