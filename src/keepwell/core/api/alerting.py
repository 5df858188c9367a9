"""Alerting channels (CRUD and a test send) and the notification log."""

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StringConstraints

from ..crypto import mask
from ..models import Channel, Notification
from .base import NO_NUL, Id, Page, errors, get_or_404, invalid, require, validate_as

router = Router(tags=["alerting"])

ChannelName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
Target = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL)]
Kind = Literal["apprise", "email", "webhook"]


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    target_masked: str = Field(
        ..., description="The target with its secret parts hidden; never shown in full."
    )
    enabled: bool
    created: datetime

    @staticmethod
    def resolve_target_masked(obj):
        return mask(obj.target)


class ChannelIn(Schema):
    name: ChannelName
    kind: Kind
    target: Target = Field(
        "",
        description="Write-only. An Apprise URL, a webhook URL, or comma-separated email addresses "
        "(empty for email: every member).",
    )
    enabled: StrictBool = True


class ChannelPatch(Schema):
    """Only the fields given change; changing `kind` needs a new `target` too."""

    name: ChannelName = None
    kind: Kind = None
    target: Target = None
    enabled: StrictBool = None


class NotificationOut(Schema):
    id: int
    channel: int
    event: str
    subject: str
    status: str
    attempts: int
    last_error: str
    created: datetime
    sent_at: datetime | None
    findings: list[int]

    @staticmethod
    def resolve_channel(obj):
        return obj.channel_id

    @staticmethod
    def resolve_findings(obj):
        return [f.pk for f in obj.findings.all()]


def _channel_or_404(request, id):
    return get_or_404(Channel.objects.filter(organization=request.org), "channel", id, pk=id)


def _valid_target(kind: str, target: str) -> str:
    from ..alerting import validate_target

    try:
        return validate_target(kind, target)
    except DjangoValidationError as exc:
        raise invalid("target", " ".join(exc.messages))
    except ValueError as exc:  # netguard.BlockedTarget: a private or loopback address
        raise invalid("target", str(exc))


@router.get("/channels", response={200: list[ChannelOut], **errors(401, 422)}, summary="List channels")
@paginate(Page)
def list_channels(request):
    """List the organization's notification channels by name."""
    return Channel.objects.filter(organization=request.org).order_by("name", "id")


@router.post("/channels", response={201: ChannelOut, **errors(401, 403, 422)}, summary="Create a channel")
def create_channel(request, payload: ChannelIn):
    """Create a channel; the target is checked, stored encrypted and never shown back in full."""
    require(request, "manage_alerting")
    channel = Channel.objects.create(
        organization=request.org,
        name=payload.name,
        kind=payload.kind,
        target=_valid_target(payload.kind, payload.target),
        enabled=payload.enabled,
    )
    return Status(201, channel)


@router.get("/channels/{id}", response={200: ChannelOut, **errors(401, 404, 422)}, summary="Get a channel")
def get_channel(request, id: Id):
    """Return one channel (its target masked)."""
    return _channel_or_404(request, id)


@router.patch(
    "/channels/{id}", response={200: ChannelOut, **errors(401, 403, 404, 422)}, summary="Change a channel"
)
def update_channel(request, id: Id, payload: ChannelPatch):
    """Change the fields given."""
    require(request, "manage_alerting")
    channel = _channel_or_404(request, id)
    given = payload.model_dump(exclude_unset=True)
    if given.get("kind", channel.kind) != channel.kind and "target" not in given:
        raise invalid("target", "changing the kind needs the new target too")
    merged = validate_as(
        ChannelIn,
        {
            "name": channel.name,
            "kind": channel.kind,
            "target": channel.target,
            "enabled": channel.enabled,
            **given,
        },
    )
    if "target" in given or "kind" in given:
        channel.target = _valid_target(merged.kind, merged.target)
    channel.name, channel.kind, channel.enabled = merged.name, merged.kind, merged.enabled
    channel.save()
    return channel


@router.delete(
    "/channels/{id}", response={204: None, **errors(401, 403, 404, 422)}, summary="Delete a channel"
)
def delete_channel(request, id: Id):
    """Delete a channel; routing rules stop sending to it."""
    require(request, "manage_alerting")
    _channel_or_404(request, id).delete()
    return Status(204, None)


@router.post(
    "/channels/{id}/test",
    response={200: NotificationOut, **errors(401, 403, 404, 422)},
    summary="Send a test",
)
def test_channel(request, id: Id):
    """Send a test notification now; answers the notification with status `sent` or `failed` and the error."""
    from ..alerting import send_test

    require(request, "manage_alerting")
    return send_test(_channel_or_404(request, id))


@router.get(
    "/notifications", response={200: list[NotificationOut], **errors(404, 422)}, summary="Delivery log"
)
@paginate(Page)
def list_notifications(
    request,
    status: Literal["pending", "held", "sent", "failed"] | None = None,
    channel: Id | None = None,
):
    """List notifications, newest first, filtered by status and channel id."""
    notifications = (
        Notification.objects.filter(organization=request.org)
        .prefetch_related("findings")
        .order_by("-created", "-id")
    )
    if status:
        notifications = notifications.filter(status=status)
    if channel:
        notifications = notifications.filter(channel=_channel_or_404(request, channel))
    return notifications
