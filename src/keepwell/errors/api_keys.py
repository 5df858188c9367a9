"""DSN keys: /services/{slug}/dsns[/{id}] — create, list, change the label or rate limit, revoke."""

from datetime import datetime
from typing import Annotated

from django.conf import settings
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from keepwell.core.api.base import Id, Page, ShortText, errors, get_or_404, require
from keepwell.core.api.services import service_or_404

from .models import Dsn

router = Router(tags=["errors"])

RateLimit = Annotated[int, Field(ge=0, le=10_000_000, description="Envelopes a minute; 0 means no limit.")]


class DsnOut(Schema):
    id: int
    service: str
    label: str
    dsn: str = Field(description="The DSN to give a Sentry SDK.")
    public_key: str
    project_id: int
    status: str = Field(description="active or revoked")
    rate_limit: int = Field(description="Envelopes a minute; 0 means no limit.")
    created: datetime
    revoked_at: datetime | None

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug


class DsnIn(Schema):
    label: ShortText = ""
    rate_limit: RateLimit = Field(
        None, description="Envelopes a minute; 0 means no limit. Default: the setting."
    )


class DsnPatch(Schema):
    """Only the fields given change; none may be null."""

    label: ShortText = None
    rate_limit: RateLimit = None

    @field_validator("label", "rate_limit", mode="before")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value


def _dsns(request, slug: str):
    service = service_or_404(request, slug)
    return service, Dsn.objects.filter(organization=request.org, service=service).select_related("service")


def _dsn_or_404(request, slug: str, dsn_id: int) -> Dsn:
    _, queryset = _dsns(request, slug)
    return get_or_404(queryset, "DSN key", dsn_id, pk=dsn_id)


@router.get(
    "/services/{slug}/dsns", response={200: list[DsnOut], **errors(401, 404, 422)}, summary="List DSN keys"
)
@paginate(Page)
def list_dsns(request, slug: str, include_revoked: bool = True):
    """List a service's DSN keys, oldest first; `include_revoked=false` keeps the active ones."""
    _, queryset = _dsns(request, slug)
    if not include_revoked:
        queryset = queryset.filter(active=True)
    return queryset.order_by("created", "id")


@router.post(
    "/services/{slug}/dsns",
    response={201: DsnOut, **errors(401, 403, 404, 422)},
    summary="Create a DSN key",
)
def create_dsn(request, slug: str, payload: DsnIn | None = None):
    """Create a DSN key for the service; answers the `dsn` to give a Sentry SDK."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    payload = payload or DsnIn()
    rate_limit = settings.ERRORS_RATE_LIMIT if payload.rate_limit is None else payload.rate_limit
    dsn = Dsn.issue(service, label=payload.label.strip(), rate_limit=rate_limit)
    return Status(201, dsn)


@router.get(
    "/services/{slug}/dsns/{dsn_id}",
    response={200: DsnOut, **errors(401, 404, 422)},
    summary="Get a DSN key",
)
def get_dsn(request, slug: str, dsn_id: Id):
    """Return one DSN key."""
    return _dsn_or_404(request, slug, dsn_id)


@router.patch(
    "/services/{slug}/dsns/{dsn_id}",
    response={200: DsnOut, **errors(401, 403, 404, 422)},
    summary="Change a DSN key",
)
def update_dsn(request, slug: str, dsn_id: Id, payload: DsnPatch):
    """Change a key's label or rate limit (envelopes a minute, 0 for none)."""
    require(request, "manage_services")
    dsn = _dsn_or_404(request, slug, dsn_id)
    fields = []
    if payload.label is not None:
        dsn.label = payload.label.strip()
        fields.append("label")
    if payload.rate_limit is not None:
        dsn.rate_limit = payload.rate_limit
        fields.append("rate_limit")
    if fields:
        dsn.save(update_fields=fields)
    return dsn


@router.delete(
    "/services/{slug}/dsns/{dsn_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Revoke a DSN key",
)
def revoke_dsn(request, slug: str, dsn_id: Id):
    """Revoke a key: SDKs sending with it get 403 from then on. The key stays listed as revoked."""
    require(request, "manage_services")
    _dsn_or_404(request, slug, dsn_id).revoke()
    return Status(204, None)
