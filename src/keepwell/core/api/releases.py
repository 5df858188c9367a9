"""Releases and deploys of a service: recorded by CI, read by the practices that care about versions."""

from datetime import datetime
from typing import Annotated

from django.db import IntegrityError, transaction
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import StringConstraints

from ..models import Deploy, Release
from ..signals import release_deployed
from .base import NO_NUL, Page, Slug, errors, require
from .services import service_or_404

router = Router(tags=["releases"])

Version = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
Commit = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64, pattern=r"^[0-9A-Za-z._/-]*$")
]
Environment = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
HttpUrl = Annotated[str, StringConstraints(max_length=500, pattern=r"^(https?://[^\s\x00]+)?$")]


class ReleaseOut(Schema):
    id: int
    service: str
    version: str
    commit: str
    notes: str
    url: str
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug


class ReleaseIn(Schema):
    version: Version
    commit: Commit = ""
    notes: Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)] = ""
    url: HttpUrl = ""


class DeployOut(Schema):
    id: int
    service: str
    version: str
    release: int
    environment: str
    deployed_at: datetime
    deployed_by: str

    @staticmethod
    def resolve_service(obj):
        return obj.release.service.slug

    @staticmethod
    def resolve_version(obj):
        return obj.release.version

    @staticmethod
    def resolve_release(obj):
        return obj.release_id


class DeployIn(Schema):
    version: Version
    environment: Environment
    commit: Commit = Field("", description="Recorded on the release when this deploy creates it.")


def _taken(service, version):
    return f"{service.slug} already has a release {version!r}; versions are unique per service."


@router.get(
    "/services/{slug}/releases",
    response={200: list[ReleaseOut], **errors(401, 404, 422)},
    summary="List releases",
)
@paginate(Page)
def list_releases(request, slug: Slug):
    """List a service's releases, newest first."""
    service = service_or_404(request, slug)
    return Release.objects.filter(service=service).select_related("service").order_by("-created", "-id")


@router.post(
    "/services/{slug}/releases",
    response={201: ReleaseOut, **errors(401, 403, 404, 409, 422)},
    summary="Record a release",
)
def create_release(request, slug: Slug, payload: ReleaseIn):
    """Record a release (a version, optionally its commit, notes and URL); 409 when the version exists."""
    require(request, "act")
    service = service_or_404(request, slug)
    if Release.objects.filter(service=service, version=payload.version).exists():
        raise HttpError(409, _taken(service, payload.version))
    try:
        with transaction.atomic():
            release = Release.objects.create(service=service, **payload.model_dump())
    except IntegrityError:
        raise HttpError(409, _taken(service, payload.version))
    return Status(201, release)


@router.get(
    "/services/{slug}/deploys",
    response={200: list[DeployOut], **errors(401, 404, 422)},
    summary="List deploys",
)
@paginate(Page)
def list_deploys(request, slug: Slug, environment: Environment | None = None):
    """List a service's deploys, newest first, optionally to one environment."""
    service = service_or_404(request, slug)
    deploys = Deploy.objects.filter(release__service=service).select_related("release__service")
    if environment:
        deploys = deploys.filter(environment=environment)
    return deploys.order_by("-deployed_at", "-id")


@router.post(
    "/services/{slug}/deploys",
    response={201: DeployOut, **errors(401, 403, 404, 422)},
    summary="Record a deploy",
)
def create_deploy(request, slug: Slug, payload: DeployIn):
    """Record that a version was deployed to an environment (creating the release if it is new)."""
    require(request, "act")
    service = service_or_404(request, slug)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                release, _ = Release.objects.get_or_create(
                    service=service, version=payload.version, defaults={"commit": payload.commit}
                )
                deploy = Deploy.objects.create(
                    release=release,
                    environment=payload.environment,
                    deployed_by=request.membership.user.email,
                )
            break
        except IntegrityError:
            continue  # another deploy created the same release at the same moment: use theirs
    else:
        raise HttpError(409, _taken(service, payload.version))
    release_deployed.send(Deploy, deploy=deploy)
    return Status(201, deploy)
