"""The security practice's scorecard: open security findings (overdue first), secrets scans, posture grades."""

from django.urls import reverse
from django.utils import timezone

from keepwell.core.models import Finding
from keepwell.core.models.findings import State
from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP, OK, PracticeStatus, register

from .findings import SOURCE
from .models import FixDeadline, PostureResult, SecretScan, VulnerabilityScan


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summarize(
    *, set_up: bool, overdue: int, critical: int, open_: int, graded: int, worst: str
) -> tuple[str, str]:
    """Return (state, one-line reason) from counts; pure."""
    if not set_up:
        return NOT_SET_UP, "No secrets scan, graded URL or vulnerability scan yet."
    if overdue:
        return FAILING, f"{_plural(overdue, 'security finding')} past the fix-by date."
    if critical:
        return FAILING, f"{_plural(critical, 'critical security finding')} open."
    if open_:
        return ATTENTION, f"{_plural(open_, 'security finding')} open, none overdue."
    graded_words = f"; {_plural(graded, 'URL')} graded, worst {worst}" if graded else ""
    return OK, f"No open security findings{graded_words}."


@register("security")
def status(service) -> PracticeStatus:
    """Return the status of the service's security findings, secrets scans and web posture."""
    findings = Finding.objects.filter(service=service, source=SOURCE)
    unresolved = findings.exclude(state=State.RESOLVED)
    open_keys = unresolved.values("key")
    overdue = FixDeadline.objects.filter(
        service=service, fix_by__lte=timezone.now(), key__in=open_keys
    ).count()
    grades = list(
        PostureResult.objects.filter(service=service).order_by("score").values_list("grade", flat=True)
    )
    set_up = (
        bool(grades)
        or findings.exists()
        or SecretScan.objects.filter(service=service).exists()
        or VulnerabilityScan.objects.filter(service=service).exists()
    )
    state, reason = summarize(
        set_up=set_up,
        overdue=overdue,
        critical=unresolved.filter(severity="critical").count(),
        open_=unresolved.count(),
        graded=len(grades),
        worst=grades[0] if grades else "",
    )
    url = reverse("security-service", args=[service.organization.slug, service.slug])
    return PracticeStatus(state, reason, url)
