"""Run the secrets scan and the posture probes of a service, keep their results and report findings."""

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keepwell.core import repositories

from . import findings, posture, posture_probe
from . import secrets as secret_scanner
from .models import AcceptedSecret, PostureResult, SecretFinding, SecretScan, fingerprint

SECRET_SEVERITY = "high"  # a committed credential: rotate it within the high-severity fix-by time


def service_url(service) -> str:
    return f"/o/{service.organization.slug}/security/services/{service.slug}/"


def start_scan(service, *, history: bool = False) -> SecretScan:
    """Record a secrets scan about to run (the API answers it at once; a worker fills it in)."""
    return SecretScan.objects.create(
        organization_id=service.organization_id, service=service, history=history
    )


def scan_secrets(service, *, history: bool = False, scan: SecretScan | None = None) -> SecretScan:
    """Scan the service's repository for secrets; store what was found and raise or clear findings."""
    scan = scan or start_scan(service, history=history)
    history = scan.history
    try:
        with repositories.checkout(service) as path:
            report = secret_scanner.scan(
                path, history=history, max_commits=settings.SECRETS_HISTORY_MAX_COMMITS
            )
    except (secret_scanner.ScanError, repositories.RepositoryError) as exc:
        scan.status, scan.error, scan.finished = SecretScan.Status.FAILED, str(exc), timezone.now()
        scan.save()
        return scan
    now = timezone.now()
    seen = set()
    with transaction.atomic():
        for secret, in_baseline in [(s, False) for s in report.secrets] + [
            (s, True) for s in report.accepted
        ]:
            fp = fingerprint(secret.filename, secret.hashed_secret, secret.type)
            seen.add(fp)
            values = {
                "organization_id": service.organization_id,
                "type": secret.type[:100],
                "filename": secret.filename[:1000],
                "line": secret.line,
                "hashed_secret": secret.hashed_secret,
                "hint": secret.hint[:60],
                "commit": secret.commit,
                "in_tree": secret.in_tree,
                "in_repo_baseline": in_baseline,
                "last_seen": now,
            }
            SecretFinding.objects.update_or_create(
                service=service,
                fingerprint=fp,
                defaults=values,
                create_defaults={**values, "first_seen": now},
            )
        gone = SecretFinding.objects.filter(service=service).exclude(fingerprint__in=seen)
        if not history:
            # A tree scan says nothing about secrets that only live in history: keep those rows.
            gone = gone.filter(in_tree=True)
        gone.delete()
        scan.status, scan.finished = SecretScan.Status.DONE, timezone.now()
        scan.files_scanned, scan.commits_scanned = report.files_scanned, report.commits_scanned
        scan.found = len(report.secrets)
        scan.save()
    sync_secret_findings(service)
    return scan


def open_secrets(service):
    """Return the service's secrets that are neither accepted in the hub nor in the repository's baseline."""
    accepted = AcceptedSecret.objects.filter(service=service).values("fingerprint")
    return SecretFinding.objects.filter(service=service, in_repo_baseline=False).exclude(
        fingerprint__in=accepted
    )


def sync_secret_findings(service) -> None:
    """Raise one finding per secret value per file still open; clear those accepted or gone."""
    url = service_url(service)
    groups: dict[str, list[SecretFinding]] = {}
    for row in open_secrets(service).order_by("filename", "line"):
        groups.setdefault(row.finding_key, []).append(row)
    for key, rows in groups.items():
        first = rows[0]
        types = ", ".join(sorted({r.type for r in rows}))
        where = (
            f"{first.filename}:{first.line}"
            if first.in_tree
            else f"{first.filename} (history, {first.commit[:10]})"
        )
        findings.report(
            service,
            key=key,
            title=f"Secret in {where}: {types}",
            severity=SECRET_SEVERITY,
            first_seen=min(r.first_seen for r in rows),
            url=url,
            detail=(
                f"{types} ({first.hint}) committed to {first.filename}. Revoke and rotate it, remove it from "
                "the repository (and its history), or accept it on the security page if it is not a real secret."
            ),
        )
    known = findings.FixDeadline.objects.filter(service=service, key__startswith="secret:")
    for key in known.exclude(key__in=list(groups)).values_list("key", flat=True):
        findings.clear(service, key=key)


def accept_secret(row: SecretFinding, user=None, reason: str = "") -> AcceptedSecret:
    """Add a secret to the hub's baseline of accepted findings and clear its finding if nothing else remains."""
    accepted, _ = AcceptedSecret.objects.get_or_create(
        service=row.service,
        fingerprint=row.fingerprint,
        defaults={
            "organization_id": row.organization_id,
            "type": row.type,
            "filename": row.filename,
            "hashed_secret": row.hashed_secret,
            "reason": reason[:500],
            "accepted_by": user,
        },
    )
    sync_secret_findings(row.service)
    return accepted


# --- Web posture ------------------------------------------------------------------------------------------


def https_monitors(service) -> list[tuple[int, str]]:
    """Return (monitor id, URL) of the service's active http monitors whose URL is https."""
    # Read through the app registry: the security app does not import the monitoring app.
    Monitor = apps.get_model("monitoring", "Monitor")
    rows = Monitor.objects.filter(service=service, kind="http", paused=False, target__istartswith="https://")
    return list(rows.order_by("id").values_list("id", "target"))


def posture_severity(result: PostureResult) -> str | None:
    """Return the security severity a posture result deserves, or None when it needs no finding."""
    if result.error:
        return None  # unreachable: the monitor itself reports that
    if result.cert_error or (result.cert_not_after and result.cert_not_after <= result.checked_at):
        return "critical"
    if result.score < 50:
        return "high"
    if result.score < 70:
        return "medium"
    return None


def probe_url(service, url: str, monitor_id: int | None = None) -> PostureResult:
    """Probe and grade one URL of the service; store the result and raise or clear its finding."""
    obs = posture_probe.observe(url, timeout=settings.POSTURE_TIMEOUT, cafile=settings.POSTURE_CAFILE or None)
    graded = posture.grade(obs)
    result, _ = PostureResult.objects.update_or_create(
        service=service,
        url_hash=PostureResult.hash_url(url),
        defaults={
            "organization_id": service.organization_id,
            "monitor_id": monitor_id,
            "url": url[:2000],
            "checked_at": obs.now,
            "score": graded.score,
            "grade": graded.grade,
            "reasons": [r.as_dict() for r in graded.reasons],
            "tls_versions": obs.tls_versions,
            "cert_not_after": obs.cert_not_after,
            "cert_error": obs.cert_error[:500],
            "status_code": obs.status_code,
            "error": obs.error[:1000],
        },
    )
    severity = posture_severity(result)
    if severity:
        worst = sorted((r for r in graded.reasons if r.modifier < 0), key=lambda r: r.modifier)[:3]
        findings.report(
            service,
            key=result.finding_key,
            title=f"Web posture of {url[:200]}: grade {result.grade}",
            severity=severity,
            url=service_url(service),
            detail="\n".join(f"{r.modifier:+d} {r.text}" for r in worst),
        )
    elif not result.error:
        findings.clear(service, key=result.finding_key)
    return result


def probe_service(service) -> list[PostureResult]:
    """Grade every monitored HTTPS URL of the service; forget results of URLs no longer monitored."""
    targets = https_monitors(service)
    results = [probe_url(service, url, monitor_id) for monitor_id, url in targets]
    stale = PostureResult.objects.filter(service=service).exclude(pk__in=[r.pk for r in results])
    for row in stale:
        findings.clear(service, key=row.finding_key)
    stale.delete()
    return results
