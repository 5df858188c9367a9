"""The dependencies practice's scorecard: the latest scan of one service, in one line."""

from django.urls import reverse

from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP, OK, PracticeStatus, register

from .models import Scan


def summarize(scan, has_repository: bool) -> tuple[str, str]:
    """Return (state, one-line reason) for a service's latest scan (None when it was never scanned)."""
    if scan is None:
        if not has_repository:
            return NOT_SET_UP, "No repository set, so no dependency scan yet."
        return NOT_SET_UP, "Not scanned yet; the nightly scan will look at it."
    if scan.status == Scan.Status.FAILED:
        return ATTENTION, f"The last dependency scan failed: {scan.error[:120]}"
    if scan.status != Scan.Status.DONE:
        return NOT_SET_UP, "The first dependency scan is running."
    if scan.eol_past:
        return FAILING, f"{scan.eol_past} runtime(s) past end of life; {scan.total_libyears:.1f} libyears."
    problems = []
    if scan.eol_approaching:
        problems.append(f"{scan.eol_approaching} runtime(s) near end of life")
    if scan.yanked:
        problems.append(f"{scan.yanked} yanked version(s) in use")
    if scan.major:
        problems.append(f"{scan.major} dependencies a major version behind")
    if problems:
        return ATTENTION, "; ".join(problems) + f"; {scan.total_libyears:.1f} libyears."
    return (
        OK,
        f"{scan.dependencies} dependencies, {scan.total_libyears:.1f} libyears, none a major version behind.",
    )


@register("dependencies")
def status(service) -> PracticeStatus:
    """Return the status of the service's dependencies from its latest finished scan."""
    scan = (
        Scan.objects.filter(service=service)
        .exclude(status__in=[Scan.Status.QUEUED, Scan.Status.RUNNING])
        .order_by("-created", "-id")
        .first()
    )
    state, reason = summarize(scan, bool(service.repository))
    url = reverse("dependencies-service", args=[service.organization.slug, service.slug])
    return PracticeStatus(state, reason, url)
