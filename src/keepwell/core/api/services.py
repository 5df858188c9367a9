"""Services: the unit of care. POST/GET/PATCH/DELETE /services[/{slug}]."""

from datetime import datetime
from typing import Annotated

from django.db.models import Q
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from ..models import Service, User
from .base import NO_NUL, Name, Page, Slug, Text, _text, errors, get_or_404, invalid, require, save_or_409

router = Router(tags=["services"])

Environment = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Repository = _text(500)
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=NO_NUL)]


class ServiceOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    repository: str
    environments: list[str]
    owners: list[str]
    created: datetime

    @staticmethod
    def resolve_owners(obj):
        return [u.email for u in obj.owners.all()]

    @staticmethod
    def resolve_environments(obj):
        # Rows written outside the API may hold anything JSON; show only the names.
        return [str(e) for e in obj.environments] if isinstance(obj.environments, list) else []


class ServiceIn(Schema):
    name: Name
    slug: Slug
    description: Text = ""
    repository: Repository = Field("", description="A local path or a git URL of the service's repository.")
    environments: list[Environment] = Field([], max_length=20, description='e.g. ["staging", "production"]')
    owners: list[Email] = Field([], max_length=50, description="Email addresses of members who own it.")


class ServicePatch(Schema):
    """Only the fields given change; none may be null."""

    name: Name = None
    slug: Slug = None
    description: Text = None
    repository: Repository = None
    environments: list[Environment] = Field(None, max_length=20)
    owners: list[Email] = Field(None, max_length=50)


def service_or_404(request, slug: str) -> Service:
    """Return the organization's service `slug`, or raise 404."""
    return get_or_404(Service.objects.filter(organization=request.org), "service", slug, slug=slug)


def _owners(request, emails) -> list[User]:
    emails = list(dict.fromkeys(e.lower() for e in emails))
    users = list(User.objects.filter(email__in=emails, memberships__organization=request.org))
    unknown = sorted(set(emails) - {u.email for u in users})
    if unknown:
        raise invalid(
            "owners", f"{', '.join(unknown)} is not a member of {request.org.slug}; invite them first."
        )
    return users


def _taken(request, slug: str) -> str:
    return f"A service with slug {slug!r} already exists in {request.org.slug}; choose another slug."


@router.get("/services", response={200: list[ServiceOut], **errors(401, 422)}, summary="List services")
@paginate(Page)
def list_services(request, q: Text = ""):
    """List the organization's services by name; `q` searches names and slugs."""
    services = (
        Service.objects.filter(organization=request.org).prefetch_related("owners").order_by("name", "id")
    )
    if q.strip():
        services = services.filter(Q(name__icontains=q.strip()) | Q(slug__icontains=q.strip()))
    return services


@router.post(
    "/services", response={201: ServiceOut, **errors(401, 403, 409, 422)}, summary="Create a service"
)
def create_service(request, payload: ServiceIn):
    """Create a service; 409 when the slug is taken in this organization."""
    require(request, "manage_services")
    owners = _owners(request, payload.owners)
    if Service.objects.filter(organization=request.org, slug=payload.slug).exists():
        return Status(409, {"detail": _taken(request, payload.slug)})
    service = Service(
        organization=request.org,
        name=payload.name,
        slug=payload.slug,
        description=payload.description,
        repository=payload.repository.strip(),
        environments=list(dict.fromkeys(payload.environments)),
    )
    save_or_409(service, _taken(request, payload.slug))
    service.owners.set(owners)
    return Status(201, service)


@router.get("/services/{slug}", response={200: ServiceOut, **errors(401, 404, 422)}, summary="Get a service")
def get_service(request, slug: Slug):
    """Return one service by slug."""
    return service_or_404(request, slug)


@router.patch(
    "/services/{slug}",
    response={200: ServiceOut, **errors(401, 403, 404, 409, 422)},
    summary="Change a service",
)
def update_service(request, slug: Slug, payload: ServicePatch):
    """Change the fields given; the others stay as they are."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    owners = _owners(request, payload.owners) if payload.owners is not None else None
    if payload.slug and payload.slug != service.slug:
        if Service.objects.filter(organization=request.org, slug=payload.slug).exists():
            return Status(409, {"detail": _taken(request, payload.slug)})
    for field in ("name", "slug", "description"):
        value = getattr(payload, field)
        if value is not None:
            setattr(service, field, value)
    if payload.repository is not None:
        service.repository = payload.repository.strip()
    if payload.environments is not None:
        service.environments = list(dict.fromkeys(payload.environments))
    save_or_409(service, _taken(request, service.slug))
    if owners is not None:
        service.owners.set(owners)
    return service


@router.delete(
    "/services/{slug}", response={204: None, **errors(401, 403, 404, 422)}, summary="Delete a service"
)
def delete_service(request, slug: Slug):
    """Delete a service with its findings, releases and everything its practices keep about it."""
    require(request, "manage_services")
    service_or_404(request, slug).delete()
    return Status(204, None)
