"""The findings an error group raises through core: new, regression, back from ignored, spike."""

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from keepwell.core.findings import raise_finding, resolve_finding

from .models import ErrorGroup, GroupHour

SOURCE = "errors"


def group_url(group: ErrorGroup) -> str:
    return reverse("error-group", args=[group.service.organization.slug, group.pk])


def finding_key(group: ErrorGroup, kind: str = "") -> str:
    return f"group:{group.pk}" + (f":{kind}" if kind else "")


def raise_for(group: ErrorGroup, *, created=False, regressed_in: str | None = None, reopened=False) -> None:
    """Raise the finding of what just happened to the group: created, regressed (in a release) or back."""
    service = group.service
    if created:
        raise_finding(
            service,
            source=SOURCE,
            key=finding_key(group),
            title=f"New error in {service.name}: {group.title}",
            severity="warning",
            detail=f"First seen {group.first_seen:%Y-%m-%d %H:%M} UTC at {group.culprit or 'an unknown place'}.",
            url=group_url(group),
        )
    elif regressed_in is not None:
        release = regressed_in or "an event without a release"
        raise_finding(
            service,
            source=SOURCE,
            key=finding_key(group),
            title=f"Regression in {service.name}: {group.title}",
            severity="critical",
            detail=f"It was resolved, and happened again in {release}.",
            url=group_url(group),
        )
    elif reopened:
        raise_finding(
            service,
            source=SOURCE,
            key=finding_key(group),
            title=f"Error back in {service.name}: {group.title}",
            severity="warning",
            detail="It was ignored; the condition to ignore it has passed.",
            url=group_url(group),
        )


def spike_threshold(baseline_hours: list[int]) -> int:
    """Return how many events in one clock hour make a spike, given the previous hours' counts.

    A spike is at least KEEPWELL_ERRORS_SPIKE_FACTOR times the average hour of the previous 7 days (hours
    without events count as 0), and never fewer than KEEPWELL_ERRORS_SPIKE_MIN_EVENTS.
    """
    average = sum(baseline_hours) / (7 * 24)
    return max(settings.ERRORS_SPIKE_MIN_EVENTS, int(settings.ERRORS_SPIKE_FACTOR * average) + 1)


def check_spike(group: ErrorGroup, hour: datetime, before: int, current: int) -> None:
    """Raise a spike finding when the hour's count went from `before` to `current` across the threshold."""
    if current < settings.ERRORS_SPIKE_MIN_EVENTS:
        return
    baseline = list(
        GroupHour.objects.filter(group=group, hour__lt=hour, hour__gte=hour - timedelta(days=7)).values_list(
            "count", flat=True
        )
    )
    threshold = spike_threshold(baseline)
    if before < threshold <= current:  # once, as the hour crosses it
        raise_finding(
            group.service,
            source=SOURCE,
            key=finding_key(group, "spike"),
            title=f"Spike in {group.service.name}: {group.title}",
            severity="warning",
            detail=f"{current} events since {hour:%H}:00 UTC; a usual hour of the past week has "
            f"{sum(baseline) / (7 * 24):.1f}.",
            url=group_url(group),
        )


def resolve_findings(group: ErrorGroup, actor=None, note: str = "") -> None:
    """Resolve the group's findings (new, regression, spike): it needs no one's attention now."""
    for key in (finding_key(group), finding_key(group, "spike")):
        resolve_finding(group.service, source=SOURCE, key=key, actor=actor, note=note)
