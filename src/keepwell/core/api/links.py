"""Links between any two objects of one organization (a finding and the release that fixed it, ...)."""

from datetime import datetime
from typing import Annotated

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import StringConstraints

from ..audit import organization_of
from ..models import Link
from .base import MAX_ID, Id, Page, errors, get_or_404, not_found, require

router = Router(tags=["links"])

TypeLabel = Annotated[str, StringConstraints(max_length=100, pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Relation = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class EndOut(Schema):
    type: str
    id: str
    label: str


class LinkOut(Schema):
    id: int
    source: EndOut
    target: EndOut
    relation: str
    created: datetime

    @staticmethod
    def resolve_source(obj):
        return _end(obj.source_type, obj.source_id, obj.source)

    @staticmethod
    def resolve_target(obj):
        return _end(obj.target_type, obj.target_id, obj.target)


class LinkIn(Schema):
    source_type: TypeLabel = Field(..., description="The source's type label, e.g. 'core.finding'.")
    source_id: ObjectId
    target_type: TypeLabel = Field(..., description="The target's type label, e.g. 'core.release'.")
    target_id: ObjectId
    relation: Relation = "relates-to"


def _end(content_type, object_id, obj):
    return {
        "type": f"{content_type.app_label}.{content_type.model}",
        "id": object_id,
        "label": str(obj) if obj is not None else "",
    }


def _model(field: str, label: str):
    """Return the keepwell model a type label names, or answer 422."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        model = None
    if model is None or not model.__module__.startswith("keepwell."):
        raise HttpError(
            422, f"{field}: {label!r} is not a keepwell object type, e.g. core.finding or core.release"
        )
    return model


def _object(request, field: str, label: str, object_id: str):
    """Return the object `label` `object_id` of this organization, or answer 404."""
    model = _model(field, label)
    pk = model._meta.pk
    if isinstance(pk, models.AutoField | models.BigAutoField | models.IntegerField):
        if not object_id.isdigit() or not 0 < int(object_id) <= MAX_ID:
            raise not_found(label, object_id)
    try:
        obj = model._default_manager.filter(pk=object_id).first()
    except (ValueError, TypeError, DjangoValidationError):  # e.g. not a UUID where the key is one
        obj = None
    org = organization_of(obj) if obj is not None else None
    if obj is None or org is None or org.pk != request.org.pk:
        raise not_found(label, object_id)
    return obj


def _links(request):
    return Link.objects.filter(organization=request.org).select_related("source_type", "target_type")


@router.get("/links", response={200: list[LinkOut], **errors(401, 422)}, summary="List links")
@paginate(Page)
def list_links(request, type: TypeLabel | None = None, id: ObjectId | None = None):
    """List links, newest first; with `type` and `id`, only those touching that object (either end)."""
    links = _links(request).order_by("-created", "-id")
    if type:
        ct = ContentType.objects.get_for_model(_model("type", type))
        end = Q(source_type=ct) | Q(target_type=ct)
        if id:
            end = Q(source_type=ct, source_id=id) | Q(target_type=ct, target_id=id)
        links = links.filter(end)
    elif id:
        raise HttpError(422, "id: give type too, e.g. ?type=core.finding&id=12")
    return links


@router.post("/links", response={201: LinkOut, **errors(401, 403, 404, 409, 422)}, summary="Link two objects")
def create_link(request, payload: LinkIn):
    """Link two objects of this organization; 409 when the same link exists."""
    require(request, "act")
    source = _object(request, "source_type", payload.source_type, payload.source_id)
    target = _object(request, "target_type", payload.target_type, payload.target_id)
    link = Link(
        organization=request.org,
        source_type=ContentType.objects.get_for_model(source),
        source_id=str(source.pk),
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        relation=payload.relation,
    )
    try:
        with transaction.atomic():
            link.save()
    except IntegrityError:
        raise HttpError(409, "These two objects are already linked with that relation.")
    return Status(201, link)


@router.get("/links/{id}", response={200: LinkOut, **errors(401, 404, 422)}, summary="Get a link")
def get_link(request, id: Id):
    """Return one link."""
    return get_or_404(_links(request), "link", id, pk=id)


@router.delete("/links/{id}", response={204: None, **errors(401, 403, 404, 422)}, summary="Delete a link")
def delete_link(request, id: Id):
    """Delete a link (the two objects stay)."""
    require(request, "act")
    get_or_404(_links(request), "link", id, pk=id).delete()
    return Status(204, None)
