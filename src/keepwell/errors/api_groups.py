"""Error groups: /services/{slug}/error-groups[/{id}[/events[/{event_id}]]] and release health."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StringConstraints

from keepwell.core.api.base import NO_NUL, DateTime, Id, Page, Slug, errors, get_or_404, invalid, require
from keepwell.core.api.services import service_or_404

from . import health
from .models import ErrorEvent, ErrorGroup, GroupTag
from .states import StatusError, change_status

router = Router(tags=["errors"])

Status = ErrorGroup.Status
StatusName = Literal["unresolved", "resolved", "resolved_next", "ignored"]
Filter = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
EventId = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$")]


class GroupOut(Schema):
    id: int
    service: str
    title: str
    culprit: str
    type: str
    level: str
    count: int
    users: int = Field(description="Distinct users affected (by id, else email, username or IP).")
    status: str = Field(description="unresolved, resolved, resolved_next or ignored.")
    regressed: bool = Field(description="Re-opened by an event from a newer release after it was resolved.")
    first_seen: datetime
    last_seen: datetime
    last_release: str
    resolved_release: str
    ignored_until: datetime | None
    ignored_until_count: int | None

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug


class TagValue(Schema):
    value: str
    count: int
    first_seen: datetime
    last_seen: datetime


class GroupDetailOut(GroupOut):
    releases: list[TagValue]
    environments: list[TagValue]
    tags: dict[str, list[TagValue]] = Field(description="Other tags: the 10 most frequent values of each.")

    @staticmethod
    def resolve_tags(obj):
        return obj.tag_values


class GroupPatch(Schema):
    status: StatusName
    ignore_count: int | None = Field(
        None, ge=1, le=1_000_000, description="With ignored: un-ignore after this many more events."
    )
    ignore_until: DateTime | None = Field(None, description="With ignored: un-ignore at this time.")


class EventOut(Schema):
    event_id: str
    timestamp: datetime
    received_at: datetime
    level: str
    title: str
    release: str
    environment: str
    user: str = Field(
        description="What identified the user: id:..., email:..., username:... or ip_address:..."
    )

    @staticmethod
    def resolve_user(obj):
        return obj.user_key


class EventDetailOut(EventOut):
    data: dict[str, Any] = Field(
        description="exceptions (frames outermost first), message, breadcrumbs, request, user, tags, "
        "contexts, extra, sdk"
    )

    @staticmethod
    def resolve_data(obj):
        return obj.unpack()


class HealthOut(Schema):
    release: str
    environment: str | None
    sessions: int
    errored: int
    abnormal: int
    crashed: int
    users: int
    crashed_users: int
    crash_free_sessions: float | None = Field(description="Percent; null without sessions.")
    crash_free_users: float | None = Field(description="Percent; null without sessions naming a user.")


def _groups(request, slug):
    return ErrorGroup.objects.filter(service=service_or_404(request, slug)).select_related("service")


def _group(request, slug, group_id) -> ErrorGroup:
    return get_or_404(_groups(request, slug), "error group", group_id, pk=group_id)


@router.get(
    "/services/{slug}/error-groups",
    response={200: list[GroupOut], **errors(401, 404, 422)},
    summary="List error groups",
)
@paginate(Page)
def list_groups(
    request,
    slug: Slug,
    status: Literal["unresolved", "resolved", "resolved_next", "ignored", "regressed"] | None = None,
    release: Filter = "",
    environment: Filter = "",
    q: Filter = "",
):
    """List the service's error groups, most recently seen first; filter by status, release, environment, q."""
    groups = _groups(request, slug)
    if status == "regressed":
        groups = groups.filter(status=Status.UNRESOLVED, regressed=True)
    elif status:
        groups = groups.filter(status=status)
    for key, value in (("release", release), ("environment", environment)):
        if value:
            groups = groups.filter(tags__key=key, tags__value=value)
    if q.strip():
        groups = groups.filter(title__icontains=q.strip())
    return groups.order_by("-last_seen", "-id")


def _tag_values(group, key=None, exclude=()):
    rows = GroupTag.objects.filter(group=group).exclude(key__in=exclude).order_by("key", "-count", "value")
    if key:
        rows = rows.filter(key=key)
    out: dict[str, list] = {}
    for tag in rows[:2000]:
        values = out.setdefault(tag.key, [])
        if len(values) < 10 or key:
            values.append(tag)
    return out


def _detail(group):
    group.releases = _tag_values(group, "release").get("release", [])
    group.environments = _tag_values(group, "environment").get("environment", [])
    group.tag_values = _tag_values(group, exclude=("release", "environment", "user"))
    return group


@router.get(
    "/services/{slug}/error-groups/{group_id}",
    response={200: GroupDetailOut, **errors(401, 404, 422)},
    summary="Get an error group",
)
def get_group(request, slug: Slug, group_id: Id):
    """Return one group with its releases, environments and tag values."""
    return _detail(_group(request, slug, group_id))


@router.patch(
    "/services/{slug}/error-groups/{group_id}",
    response={200: GroupDetailOut, **errors(401, 403, 404, 422)},
    summary="Resolve, ignore or unresolve an error group",
)
def update_group(request, slug: Slug, group_id: Id, payload: GroupPatch):
    """Set the status; resolving or ignoring it resolves the group's findings."""
    require(request, "act")
    group = _group(request, slug, group_id)
    if payload.status != "ignored" and (payload.ignore_count or payload.ignore_until):
        raise invalid("status", "ignore_count and ignore_until only go with the status ignored.")
    try:
        group = change_status(
            group,
            payload.status,
            actor=request.membership.user,
            ignore_count=payload.ignore_count,
            ignore_until=payload.ignore_until,
        )
    except StatusError as exc:
        raise invalid("status", str(exc))
    return _detail(group)


@router.get(
    "/services/{slug}/error-groups/{group_id}/events",
    response={200: list[EventOut], **errors(401, 404, 422)},
    summary="List a group's events",
)
@paginate(Page)
def list_events(request, slug: Slug, group_id: Id):
    """List the group's events, newest first (events older than the retention period are pruned)."""
    group = _group(request, slug, group_id)
    return ErrorEvent.objects.filter(group=group).defer("data").order_by("-timestamp", "-id")


@router.get(
    "/services/{slug}/error-groups/{group_id}/events/{event_id}",
    response={200: EventDetailOut, **errors(401, 404, 422)},
    summary="Get an event",
)
def get_event(request, slug: Slug, group_id: Id, event_id: EventId):
    """Return one event with its stack trace, breadcrumbs, request, user, tags and contexts."""
    group = _group(request, slug, group_id)
    return get_or_404(ErrorEvent.objects.filter(group=group), "event", event_id, event_id=event_id.lower())


@router.get(
    "/services/{slug}/release-health",
    response={200: HealthOut, **errors(401, 404, 422)},
    summary="Crash-free sessions and users of a release",
)
def release_health(
    request,
    slug: Slug,
    release: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)],
    environment: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NO_NUL)] | None = None,
):
    """Return the release's crash-free sessions and users from the sessions its SDKs reported."""
    return health.release_health(service_or_404(request, slug), release, environment)
