"""The errors part of the monitoring practice's scorecard: the error groups of one service, in one line."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP, OK, PracticeStatus, register

from .models import Dsn, ErrorGroup

NEW_WITHIN = timedelta(days=7)
NAMES_SHOWN = 2


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summarize(collecting: bool, regressed: list[str], new: list[str], unresolved: int) -> tuple[str, str]:
    """Return (state, reason) from the titles of regressed and new unresolved groups; pure, no database."""
    if not collecting:
        return NOT_SET_UP, "No DSN yet: errors are not collected. Create one on the DSN keys page."

    def names(titles):
        shown = ", ".join(titles[:NAMES_SHOWN])
        more = len(titles) - NAMES_SHOWN
        return shown + (f" and {more} more" if more > 0 else "")

    if regressed:
        return FAILING, f"{_plural(len(regressed), 'regressed error')} ({names(regressed)})."
    if new:
        return ATTENTION, f"{_plural(len(new), 'new error')} this week ({names(new)})."
    if unresolved:
        return OK, f"No new errors this week; {_plural(unresolved, 'older unresolved error')}."
    return OK, "No unresolved errors."


def _collecting(service) -> bool:
    return Dsn.objects.filter(service=service).exists() or ErrorGroup.objects.filter(service=service).exists()


@register("monitoring")
def status(service) -> PracticeStatus:
    """Return the status of the service's error groups."""
    unresolved = ErrorGroup.objects.filter(service=service, status=ErrorGroup.Status.UNRESOLVED)
    regressed = list(
        unresolved.filter(regressed=True).order_by("-last_seen").values_list("title", flat=True)[:50]
    )
    since = timezone.now() - NEW_WITHIN
    new = list(
        unresolved.filter(regressed=False, first_seen__gte=since)
        .order_by("-last_seen")
        .values_list("title", flat=True)[:50]
    )
    state, reason = summarize(_collecting(service), regressed, new, unresolved.count())
    url = reverse("errors", args=[service.organization.slug]) + f"?service={service.slug}"
    return PracticeStatus(state, reason, url)
