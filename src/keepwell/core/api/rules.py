"""Routing rules: which findings go to which channels, when, and how often."""

from datetime import datetime, time
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from django.db import transaction
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StringConstraints, field_validator, model_validator

from ..models import Channel, RoutingRule, Service
from .base import NO_NUL, Id, LocalTime, Page, Slug, errors, get_or_404, invalid, require, validate_as

router = Router(tags=["alerting"])

RuleName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
Seconds = Annotated[int, Field(ge=60, le=30 * 86400)]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    # Reading the zone database takes ~20 ms; it does not change while keepwell runs.
    return frozenset(available_timezones())


class RuleOut(Schema):
    id: int
    name: str
    service: str | None = Field(..., description="The service's slug; null for every service.")
    min_severity: str
    channels: list[int]
    escalation_channels: list[int]
    escalate_after: int | None
    renotify_every: int | None
    notify_on_resolve: bool
    group_window: int
    quiet_start: time | None
    quiet_end: time | None
    quiet_timezone: str
    enabled: bool
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug if obj.service_id else None

    @staticmethod
    def resolve_channels(obj):
        return sorted(c.pk for c in obj.channels.all())

    @staticmethod
    def resolve_escalation_channels(obj):
        return sorted(c.pk for c in obj.escalation_channels.all())


class RuleIn(Schema):
    name: RuleName
    service: Slug | None = Field(None, description="A service's slug; null (the default) for every service.")
    min_severity: Literal["info", "warning", "critical"] = "warning"
    channels: list[Id] = Field(..., min_length=1, max_length=50, description="Channel ids to notify.")
    escalation_channels: list[Id] = Field([], max_length=50, description="Channel ids to add on escalation.")
    escalate_after: Seconds | None = Field(None, description="Seconds unacknowledged before escalating.")
    renotify_every: Seconds | None = Field(None, description="Seconds between reminders while open.")
    notify_on_resolve: StrictBool = True
    group_window: int = Field(
        30, ge=0, le=3600, description="Seconds to gather a burst into one notification."
    )
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None
    quiet_timezone: TimeZoneName = "UTC"
    enabled: StrictBool = True

    @field_validator("quiet_timezone")
    @classmethod
    def known_zone(cls, value):
        if value not in _time_zones():
            raise ValueError(f"{value!r} is not a time zone name; use one like 'Europe/Berlin' or 'UTC'")
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def consistent(self):
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both quiet_start and quiet_end, or neither")
        if bool(self.escalation_channels) != (self.escalate_after is not None):
            raise ValueError("escalation needs both escalation_channels and escalate_after, or neither")
        return self


class RulePatch(Schema):
    """Only the fields given change. `service`, `escalate_after`, `renotify_every` and quiet hours may be null."""

    name: RuleName = None
    service: Slug | None = None
    min_severity: Literal["info", "warning", "critical"] = None
    channels: list[Id] = Field(None, min_length=1, max_length=50)
    escalation_channels: list[Id] = Field(None, max_length=50)
    escalate_after: Seconds | None = None
    renotify_every: Seconds | None = None
    notify_on_resolve: StrictBool = None
    group_window: int = Field(None, ge=0, le=3600)
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None
    quiet_timezone: TimeZoneName = None
    enabled: StrictBool = None


def _rules(request):
    return RoutingRule.objects.filter(organization=request.org).select_related("service")


def _rule_or_404(request, id):
    return get_or_404(_rules(request), "routing rule", id, pk=id)


def _channels(request, field, ids) -> list[Channel]:
    ids = list(dict.fromkeys(ids))
    found = list(Channel.objects.filter(organization=request.org, pk__in=ids))
    missing = [str(i) for i in ids if i not in {c.pk for c in found}]
    if missing:
        raise invalid(
            field, f"no channel {', '.join(missing)} in this organization; see GET /api/v1/channels"
        )
    return found


def _save(request, rule: RoutingRule, data: RuleIn) -> RoutingRule:
    service = None
    if data.service:
        service = Service.objects.filter(organization=request.org, slug=data.service).first()
        if service is None:
            raise invalid("service", f"no service {data.service!r} in this organization")
    channels = _channels(request, "channels", data.channels)
    escalation = _channels(request, "escalation_channels", data.escalation_channels)
    rule.service = service
    for field in (
        "name",
        "min_severity",
        "escalate_after",
        "renotify_every",
        "notify_on_resolve",
        "group_window",
        "quiet_start",
        "quiet_end",
        "quiet_timezone",
        "enabled",
    ):
        setattr(rule, field, getattr(data, field))
    with transaction.atomic():
        rule.save()
        rule.channels.set(channels)
        rule.escalation_channels.set(escalation)
    return _rule_or_404(request, rule.pk)


@router.get("/rules", response={200: list[RuleOut], **errors(401, 422)}, summary="List routing rules")
@paginate(Page)
def list_rules(request):
    """List routing rules by name."""
    return _rules(request).prefetch_related("channels", "escalation_channels").order_by("name", "id")


@router.post("/rules", response={201: RuleOut, **errors(401, 403, 422)}, summary="Create a routing rule")
def create_rule(request, payload: RuleIn):
    """Create a routing rule; channel ids and the service must belong to this organization."""
    require(request, "manage_alerting")
    return Status(201, _save(request, RoutingRule(organization=request.org), payload))


@router.get("/rules/{id}", response={200: RuleOut, **errors(401, 404, 422)}, summary="Get a routing rule")
def get_rule(request, id: Id):
    """Return one routing rule."""
    return _rule_or_404(request, id)


@router.patch(
    "/rules/{id}", response={200: RuleOut, **errors(401, 403, 404, 422)}, summary="Change a routing rule"
)
def update_rule(request, id: Id, payload: RulePatch):
    """Change the fields given."""
    require(request, "manage_alerting")
    rule = _rule_or_404(request, id)
    current = RuleOut.from_orm(rule).model_dump(exclude={"id", "created"})
    merged = validate_as(RuleIn, {**current, **payload.model_dump(exclude_unset=True)})
    return _save(request, rule, merged)


@router.delete(
    "/rules/{id}", response={204: None, **errors(401, 403, 404, 422)}, summary="Delete a routing rule"
)
def delete_rule(request, id: Id):
    """Delete a routing rule."""
    require(request, "manage_alerting")
    _rule_or_404(request, id).delete()
    return Status(204, None)
