"""The hub's side of a scan: run it for a service, store it, raise and resolve findings; run proposals."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from keepwell.core import netguard, repositories
from keepwell.core.findings import raise_finding, resolve_finding
from keepwell.core.models import Finding

from . import eol as eol_data
from . import proposals as prop
from . import registry, relock
from .models import Proposal, RuntimeStatus, Scan, ScannedDependency
from .scan import Options, scan

log = logging.getLogger(__name__)
SOURCE = "dependencies"
KEEP_DETAILS = 10  # scans of a service whose every dependency row is kept; older ones keep their figures only


def options() -> Options:
    """Return scan options from the settings; registry and end-of-life URLs pass the outbound guard."""
    return Options(
        pypi_url=settings.DEPS_PYPI_URL,
        npm_url=settings.DEPS_NPM_URL,
        eol_url=settings.DEPS_EOL_URL,
        cache_dir=settings.DEPS_CACHE_DIR,
        offline=settings.DEPS_OFFLINE,
        concurrency=max(1, settings.DEPS_CONCURRENCY),
        retries=max(0, settings.DEPS_RETRIES),
        ttl=settings.DEPS_CACHE_TTL,
        eol_warn_days=settings.DEPS_EOL_WARN_DAYS,
        guard=netguard.check_url,
    )


def repository_path(service) -> Path | None:
    """Return the service's repository as a local folder (inside KEEPWELL_REPOSITORY_ROOTS), or None."""
    try:
        return repositories.local_path(service)
    except repositories.RepositoryError:
        return None


def can_scan(service) -> bool:
    """Return True when the service's repository is a local folder (inside the roots) or a git URL."""
    return repositories.is_available(service)


def _not_a_folder(service) -> str:
    try:
        repositories.local_path(service)
    except repositories.RepositoryError as exc:
        return str(exc)
    return f"The repository of {service.name} is not a folder on this machine."


def page_url(service) -> str:
    return reverse("dependencies-service", args=[service.organization.slug, service.slug])


def scan_service(service, scan_row: Scan | None = None) -> Scan:
    """Scan the service's repository now; store the result and update its findings."""
    row = scan_row or Scan.objects.create(service=service)
    row.status, row.started = Scan.Status.RUNNING, timezone.now()
    row.save(update_fields=["status", "started"])
    try:
        with repositories.checkout(service) as path:
            report = scan(path, options())
    except repositories.RepositoryError as exc:
        row.status, row.finished = Scan.Status.FAILED, timezone.now()
        row.error = str(exc)[:2000]
        row.save(update_fields=["status", "finished", "error"])
        return row
    except Exception as exc:  # a broken repository must not stop the nightly run for the others
        log.exception("dependency scan of %s failed", service)
        row.status, row.finished, row.error = (
            Scan.Status.FAILED,
            timezone.now(),
            f"The scan failed: {exc}"[:2000],
        )
        row.save(update_fields=["status", "finished", "error"])
        return row
    store(row, report)
    update_findings(service, row)
    prune(service)
    return row


def prune(service, keep: int = KEEP_DETAILS) -> int:
    """Delete the per-dependency rows of all but the newest `keep` scans; the scans' figures stay for the trend."""
    old = list(
        Scan.objects.filter(service=service).order_by("-created", "-id").values_list("id", flat=True)[keep:]
    )
    if not old:
        return 0
    RuntimeStatus.objects.filter(scan_id__in=old).delete()
    deleted, _ = ScannedDependency.objects.filter(scan_id__in=old).delete()
    return deleted


def store(row: Scan, report) -> Scan:
    """Save the report's figures and rows into the scan `row`."""
    counts = report.counts()
    data = report.as_dict()["summary"]
    with transaction.atomic():
        for field in ("major", "minor", "patch", "up_to_date", "unknown"):
            setattr(row, field, counts[field])
        row.dependencies = len(report.dependencies)
        row.total_libyears, row.median_libyears = report.total_libyears, report.median_libyears
        row.yanked, row.deprecated = data["yanked"], data["deprecated"]
        row.eol_past, row.eol_approaching = data["eol_past"], data["eol_approaching"]
        row.read_errors = report.errors[:200]
        row.requests = report.requests
        row.status, row.finished = Scan.Status.DONE, timezone.now()
        row.save()
        ScannedDependency.objects.bulk_create(
            [
                ScannedDependency(
                    scan=row,
                    name=d.name[:300],
                    ecosystem=d.ecosystem[:20],
                    version=(d.version or "")[:200],
                    specifier=d.specifier[:500],
                    kind=d.kind[:20],
                    direct=d.direct,
                    dev=d.dev,
                    source=d.source[:500],
                    line=d.line,
                    latest=(d.latest or "")[:200],
                    latest_allowed=(d.latest_allowed or "")[:200],
                    latest_same_major=(d.latest_same_major or "")[:200],
                    released=d.released,
                    latest_released=d.latest_released,
                    last_release=d.last_release,
                    libyears=d.libyears,
                    behind_major=d.behind_major,
                    behind_minor=d.behind_minor,
                    behind_patch=d.behind_patch,
                    drift=d.drift or "",
                    yanked=d.yanked,
                    yanked_reason=d.yanked_reason[:300],
                    deprecated=d.deprecated[:300],
                    stale=d.no_release_in_two_years,
                    error=d.error[:300],
                )
                for d in report.dependencies
            ],
            batch_size=500,
        )
        RuntimeStatus.objects.bulk_create(
            [
                RuntimeStatus(
                    scan=row,
                    product=r.product,
                    version=r.version[:50],
                    cycle=(r.cycle or "")[:50],
                    eol=r.eol,
                    status=r.status,
                    days_left=r.days_left,
                    source=r.source[:500],
                    line=r.line,
                    declared=r.declared[:200],
                )
                for r in report.runtimes
            ]
        )
    return row


def update_findings(service, row: Scan) -> None:
    """Raise a finding for each problem of the scan, and resolve the ones it no longer shows."""
    url = page_url(service)
    wanted: dict[str, tuple[str, str, str]] = {}  # key → (severity, title, detail)
    for r in row.runtimes.all():
        label = f"{eol_data.LABELS.get(r.product, r.product)} {r.cycle or r.version}"
        key = f"eol:{r.product}:{r.cycle or r.version}"
        if r.status == eol_data.PAST:
            when = f"on {r.eol:%Y-%m-%d}" if r.eol else ""
            wanted[key] = (
                "critical",
                f"{label} reached its end of life {when}".strip(),
                f"Declared in {r.source}{f' line {r.line}' if r.line else ''} ({r.declared}). It gets no more "
                "security fixes: move to a supported version.",
            )
        elif r.status == eol_data.APPROACHING:
            wanted[key] = (
                "warning",
                f"{label} reaches its end of life on {r.eol:%Y-%m-%d} ({r.days_left} days)",
                f"Declared in {r.source}{f' line {r.line}' if r.line else ''} ({r.declared}). Plan the move "
                "to a supported version.",
            )
    for d in row.rows.filter(yanked=True):
        wanted[f"yanked:{d.ecosystem}:{d.name}:{d.version}"] = (
            "warning",
            f"{d.name} {d.version} is in use but was yanked from {d.ecosystem}",
            (d.yanked_reason or "The maintainers withdrew this release.")
            + f" Read from {d.source}. Move to {d.latest_allowed or d.latest or 'another release'}.",
        )
    if settings.DEPS_MAX_LIBYEARS and row.total_libyears > settings.DEPS_MAX_LIBYEARS:
        wanted["drift:libyears"] = (
            "warning",
            f"Dependencies are {row.total_libyears:.1f} libyears behind (threshold {settings.DEPS_MAX_LIBYEARS})",
            f"{row.major} dependencies are a major version behind, {row.minor} a minor one, {row.patch} a patch.",
        )
    limit = settings.DEPS_MAX_MAJOR_BEHIND
    if limit:
        far = list(row.rows.filter(behind_major__gt=limit).order_by("-behind_major", "name")[:5])
        if far:
            n = row.rows.filter(behind_major__gt=limit).count()
            wanted["drift:major"] = (
                "warning",
                f"{n} dependencies are more than {limit} major versions behind",
                "; ".join(f"{d.name} {d.version} (latest {d.latest})" for d in far),
            )
    for key, (severity, title, detail) in wanted.items():
        raise_finding(service, source=SOURCE, key=key, title=title, severity=severity, detail=detail, url=url)
    open_keys = Finding.objects.filter(service=service, source=SOURCE).exclude(state="resolved")
    for key in open_keys.values_list("key", flat=True):
        if key not in wanted:
            resolve_finding(service, source=SOURCE, key=key)


def latest_scan(service) -> Scan | None:
    return Scan.objects.filter(service=service, status=Scan.Status.DONE).order_by("-created", "-id").first()


def create_proposals(service, user=None, ecosystem: str | None = None, group_kind: str | None = None) -> list:
    """Create (queued) proposals from the service's latest scan; return them."""
    scan_row = latest_scan(service)
    if scan_row is None:
        return []
    groups = prop.group(scan_row.rows.all())
    out = []
    for g in groups:
        if ecosystem and g.ecosystem != ecosystem:
            continue
        if group_kind and g.kind != group_kind:
            continue
        out.append(
            Proposal.objects.create(
                service=service,
                ecosystem=g.ecosystem,
                group=g.kind,
                title=g.title[:300],
                changes=[c.as_dict() for c in g.changes],
                created_by=user,
            )
        )
    return out


def _propose(folder: Path, changes: list, branch: str, title: str) -> prop.Outcome:
    return prop.propose(
        str(folder),
        changes,
        branch,
        title,
        timeout=settings.DEPS_TEST_TIMEOUT,
        run=settings.DEPS_RUN_TESTS,
        lock_options=relock.Options(
            # uv and pipenv resolve through the hub's PyPI when an operator points it at a mirror; against
            # pypi.org itself they keep their own default, so the lockfile names the index it always did.
            pypi_index=None
            if settings.DEPS_PYPI_URL == registry.PYPI_URL
            else f"{settings.DEPS_PYPI_URL}/simple/",
            npm_registry=settings.DEPS_NPM_URL,
            cache_dir=Path(settings.DEPS_CACHE_DIR) / "lock-tools",
            # A yarn berry lockfile is regenerated by the yarn the repository commits: its own code, which
            # runs on the hub only where its tests may.
            repository_tools=settings.DEPS_RUN_TESTS,
        ),
    )


def _propose_remote(service, changes: list, branch: str, title: str) -> prop.Outcome:
    """Write the proposal into a copy of the hub's clone of a git URL and push its branch; keep a patch if refused.

    The clone is locked only while it is fetched and copied: the proposal's tests, which may run for half an
    hour, do not hold up the service's scans, and the clone itself never gets the branch.
    """
    with tempfile.TemporaryDirectory(prefix="keepwell-proposal-") as scratch:
        work = Path(scratch) / "repository"
        with repositories.checkout(service) as folder:
            repositories.copy_clone(folder, work)
        outcome = _propose(work, changes, branch, title)
        if outcome.mode == "branch" and outcome.edited:
            try:
                where = repositories.push_branch(service, work, branch)
            except repositories.RepositoryError as exc:
                outcome.mode, outcome.branch = "patch", ""
                outcome.notes.insert(
                    0,
                    f"The remote refused the branch {branch}, so the change is kept as a patch "
                    f"({' '.join(str(exc).split())}). Give the hub write access to "
                    f"{repositories.redact(service.repository)} and propose again, or apply the patch "
                    "yourself (git apply).",
                )
            else:
                outcome.notes.insert(0, f"The branch {branch} was pushed to {where}.")
    return outcome


def run_proposal(proposal: Proposal) -> Proposal:
    """Write the proposal into a branch (or patch) of the service's repository and run its tests.

    A git URL is written into the hub's clone of it and the branch is pushed to the remote.
    """
    proposal.status, proposal.started = Proposal.Status.RUNNING, timezone.now()
    proposal.save(update_fields=["status", "started"])
    changes = [
        prop.Change(c["name"], c["ecosystem"], c["from"], c["to"], c.get("source", ""))
        for c in proposal.changes
    ]
    branch = f"keepwell/deps-{proposal.pk}"
    service = proposal.service
    try:
        if repositories.is_remote(service.repository):
            outcome = _propose_remote(service, changes, branch, proposal.title)
        else:
            path = repository_path(service)
            if path is None:
                raise prop.ProposalError(_not_a_folder(service))
            outcome = _propose(path, changes, branch, proposal.title)
    except (prop.ProposalError, repositories.RepositoryError) as exc:
        proposal.status, proposal.error = Proposal.Status.ERROR, str(exc)[:5000]
    except Exception as exc:
        log.exception("update proposal %s failed", proposal.pk)
        proposal.status, proposal.error = (
            Proposal.Status.ERROR,
            f"The proposal could not be written: {exc}"[:5000],
        )
    else:
        proposal.mode, proposal.branch, proposal.patch = (
            outcome.mode,
            outcome.branch,
            outcome.patch[:1_000_000],
        )
        proposal.edited_files, proposal.test_command = outcome.edited, outcome.command[:500]
        run = outcome.run
        notes = []
        if run is None:
            proposal.status = Proposal.Status.UNTESTED
            notes.append(
                outcome.not_run
                or "The change is written but not tested: running a repository's test command is off on this "
                "hub (an operator allows it with KEEPWELL_DEPS_RUN_TESTS=1)."
            )
        else:
            proposal.exit_code, proposal.output = run.exit_code, run.output
            proposal.status = Proposal.Status.PASSED if run.exit_code == 0 else Proposal.Status.FAILED
        if outcome.missed:
            notes.append("Not written (no declaration found): " + "; ".join(outcome.missed))
        notes += outcome.notes
        proposal.error = " ".join(notes)
    proposal.finished = timezone.now()
    proposal.save()
    return proposal
