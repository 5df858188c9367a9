"""Backup plans: /services/{slug}/backup-plans[/{id}[/runs|/snapshots|/storage|/run|/drill|/restore|...]]."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db import transaction
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import StringConstraints

from keepwell.core import cron
from keepwell.core.api.base import NO_NUL, Id, Name, Page, errors, get_or_404, invalid, require
from keepwell.core.api.services import service_or_404

from . import health, jobs, planning, validation
from .models import Plan, Run, StorageSample
from .models.plans import DEFAULT_RETENTION

router = Router(tags=["backups"])

Location = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL)
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]
Cron = Annotated[str, StringConstraints(max_length=cron.MAX_CRON, pattern=NO_NUL)]
Zone = Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]
Subset = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9./%A-Za-z]*$")]
Command = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
Minutes = Annotated[int, Field(ge=0, le=525_600)]
Days = Annotated[int, Field(ge=0, le=3650)]
EnvName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = Annotated[str, StringConstraints(max_length=4000, pattern=NO_NUL)]


class PlanOut(Schema):
    id: int
    service: str
    name: str
    repository: str = Field(description="The repository's location, with any credentials in it hidden.")
    repository_id: int
    sources: list[Any] = Field(description="The sources, with passwords in database URLs hidden.")
    schedule: str
    tz: str
    retention: dict[str, Any]
    prune_schedule: str
    check_schedule: str
    check_read_data_subset: str
    drill_schedule: str
    verify_command: str
    grace_minutes: int
    max_restore_age_days: int
    enabled: bool
    next_backup_at: datetime | None
    next_drill_at: datetime | None
    last_good_backup_at: datetime | None
    last_verified_restore_at: datetime | None
    created: datetime

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug

    @staticmethod
    def resolve_repository(obj):
        return obj.repository.shown_location

    @staticmethod
    def resolve_sources(obj):
        return validation.redact(obj.sources if isinstance(obj.sources, list) else [])


class PlanIn(Schema):
    name: Name
    repository: Location = Field(
        description="A restic repository location: /path, sftp:..., s3:..., rest:..."
    )
    password: Password = Field(description="The repository's password; stored encrypted, never returned.")
    repository_env: dict[EnvName, EnvValue] | None = Field(
        None, max_length=20, description="Environment for restic, e.g. AWS_ACCESS_KEY_ID; stored encrypted."
    )
    sources: list[dict[str, Any]] = Field(..., min_length=1, max_length=50)
    schedule: Cron = Field("0 3 * * *", description="Cron line of the backups, e.g. '0 3 * * *'.")
    tz: Zone = "UTC"
    retention: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_RETENTION))
    prune_schedule: Cron = Field("30 4 * * *", description="Cron line of forget and prune; empty: never.")
    check_schedule: Cron = Field("0 5 * * 0", description="Cron line of restic check; empty: never.")
    check_read_data_subset: Subset = Field("", description="e.g. 5% or 1/10: data read by scheduled checks.")
    drill_schedule: Cron = Field("0 6 * * 0", description="Cron line of restore drills; empty: never.")
    verify_command: Command = Field("", description="A command run against a drill's restored data.")
    grace_minutes: Minutes = 60
    max_restore_age_days: Days = Field(
        14, description="Findings when no restore was verified this long; 0: off."
    )
    enabled: bool = True


class PlanPatch(Schema):
    """Only the fields given change. Give `password` with `repository` to move the plan."""

    name: Name = None
    repository: Location = None
    password: Password = None
    repository_env: dict[EnvName, EnvValue] = Field(None, max_length=20)
    sources: list[dict[str, Any]] = Field(None, min_length=1, max_length=50)
    schedule: Cron = None
    tz: Zone = None
    retention: dict[str, Any] = None
    prune_schedule: Cron = None
    check_schedule: Cron = None
    check_read_data_subset: Subset = None
    drill_schedule: Cron = None
    verify_command: Command = None
    grace_minutes: Minutes = None
    max_restore_age_days: Days = None
    enabled: bool = None


class RunOut(Schema):
    id: int
    plan: int
    kind: str
    state: str
    trigger: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    duration: float | None = Field(description="Seconds; for a drill, the measured restore time.")
    source_run: int | None = Field(description="The backup run a drill or restore used.")
    snapshots: list[Any]
    manifest: dict[str, Any]
    details: dict[str, Any]
    evidence: list[Any]
    target: dict[str, Any] = Field(description="A restore's target, with passwords hidden.")
    bytes_added: int | None
    total_size: int | None
    error_kind: str
    error_message: str
    output: str

    @staticmethod
    def resolve_plan(obj):
        return obj.plan_id

    @staticmethod
    def resolve_source_run(obj):
        return obj.source_run_id

    @staticmethod
    def resolve_target(obj):
        return validation.redact(obj.target if isinstance(obj.target, dict) else {})


class SampleOut(Schema):
    at: datetime
    total_size: int
    bytes_added: int | None
    snapshots: int | None


class RestoreIn(Schema):
    target: dict[str, Any] | None = Field(
        None,
        description='{"kind": "path", "path": DIR}, {"kind": "sqlite", "path": FILE}, or a database URL.',
    )
    path: Annotated[str, StringConstraints(max_length=4096, pattern=NO_NUL)] | None = Field(
        None, description="Restore into this new or empty folder (instead of target)."
    )
    database: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | None = Field(
        None, description="Load the database dump into this database URL (instead of target)."
    )
    run: Id | None = Field(None, description="The backup run to restore; default: the latest good one.")


# --- helpers ------------------------------------------------------------------------------------------
def _plans(request, slug):
    service = service_or_404(request, slug)
    return service, Plan.objects.filter(organization=request.org, service=service).select_related(
        "service", "repository", "organization"
    )


def _plan_or_404(request, slug, plan_id) -> Plan:
    _, plans = _plans(request, slug)
    return get_or_404(plans, "backup plan", plan_id, pk=plan_id)


def _apply(plan: Plan, data: dict, org) -> None:
    """Validate and set the fields given; a mistake answers 422 (409: the repository's password differs)."""
    try:
        planning.apply(plan, data, org)
    except planning.PlanError as exc:
        raise HttpError(exc.status, str(exc)) from None


def _start(request, plan: Plan, kind: str, **kwargs) -> Run:
    run = jobs.create_run(plan, kind, trigger=Run.Trigger.API, user=request.auth.user, **kwargs)
    jobs.enqueue(run)
    return run


def _source_run(plan: Plan, run_id: int | None) -> Run | None:
    if run_id is None:
        return None
    run = plan.runs.filter(pk=run_id, kind=Run.Kind.BACKUP).first()
    if run is None:
        raise invalid("run", f"plan {plan.pk} has no backup run {run_id}")
    if run.state != Run.State.SUCCEEDED or not run.snapshots:
        raise invalid("run", f"backup run {run_id} did not succeed; choose a successful one")
    return run


# --- plans --------------------------------------------------------------------------------------------
@router.get(
    "/services/{slug}/backup-plans",
    response={200: list[PlanOut], **errors(401, 404, 422)},
    summary="List backup plans",
)
@paginate(Page)
def list_plans(request, slug: str):
    """List a service's backup plans by name."""
    _, plans = _plans(request, slug)
    return plans.order_by("name", "id")


@router.post(
    "/services/{slug}/backup-plans",
    response={201: PlanOut, **errors(401, 403, 404, 409, 422)},
    summary="Create a backup plan",
)
def create_plan(request, slug: str, payload: PlanIn):
    """Create a plan; the repository (a location) is created or reused in the organization."""
    require(request, "manage_services")
    service = service_or_404(request, slug)
    plan = Plan(organization=request.org, service=service)
    with transaction.atomic():
        _apply(plan, payload.model_dump(), request.org)
        plan.save()
    return Status(201, plan)


@router.get(
    "/services/{slug}/backup-plans/{plan_id}",
    response={200: PlanOut, **errors(401, 404, 422)},
    summary="Get a backup plan",
)
def get_plan(request, slug: str, plan_id: Id):
    """Return one plan with its schedules and the times of its last good backup and verified restore."""
    return _plan_or_404(request, slug, plan_id)


@router.patch(
    "/services/{slug}/backup-plans/{plan_id}",
    response={200: PlanOut, **errors(401, 403, 404, 409, 422)},
    summary="Change a backup plan",
)
def update_plan(request, slug: str, plan_id: Id, payload: PlanPatch):
    """Change the fields given; new schedules take effect from the next minute."""
    require(request, "manage_services")
    plan = _plan_or_404(request, slug, plan_id)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    with transaction.atomic():
        _apply(plan, data, request.org)
        plan.save()
        if {"schedule", "tz", "prune_schedule", "check_schedule", "drill_schedule", "enabled"} & set(data):
            jobs.reschedule(plan)
    plan.refresh_from_db()
    return plan


@router.delete(
    "/services/{slug}/backup-plans/{plan_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a backup plan",
)
def delete_plan(request, slug: str, plan_id: Id):
    """Delete a plan and its run history (the snapshots stay in the repository); its findings resolve."""
    require(request, "manage_services")
    plan = _plan_or_404(request, slug, plan_id)
    with transaction.atomic():
        health.forget_plan(plan)
        plan.delete()
    return Status(204, None)


# --- runs ---------------------------------------------------------------------------------------------
@router.get(
    "/services/{slug}/backup-plans/{plan_id}/runs",
    response={200: list[RunOut], **errors(401, 404, 422)},
    summary="List a plan's runs",
)
@paginate(Page)
def list_runs(
    request,
    slug: str,
    plan_id: Id,
    kind: Literal["backup", "forget", "check", "drill", "restore"] | None = None,
    state: Literal["queued", "running", "succeeded", "failed"] | None = None,
):
    """The plan's runs, newest first; `kind` and `state` filter them."""
    plan = _plan_or_404(request, slug, plan_id)
    runs = plan.runs.all()
    if kind:
        runs = runs.filter(kind=kind)
    if state:
        runs = runs.filter(state=state)
    return runs.order_by("-created", "-id")


@router.get(
    "/services/{slug}/backup-plans/{plan_id}/runs/{run_id}",
    response={200: RunOut, **errors(401, 404, 422)},
    summary="Get a run",
)
def get_run(request, slug: str, plan_id: Id, run_id: Id):
    """Return one run with its manifest, a drill's evidence and its output."""
    plan = _plan_or_404(request, slug, plan_id)
    return get_or_404(plan.runs.all(), "run", run_id, pk=run_id)


@router.get(
    "/services/{slug}/backup-plans/{plan_id}/snapshots",
    response={200: list[dict[str, Any]], **errors(401, 404, 409, 422)},
    summary="List a plan's snapshots",
)
@paginate(Page)
def list_snapshots(request, slug: str, plan_id: Id):
    """The plan's snapshots as restic lists them now (newest first); 409 when the repository cannot be read."""
    from .engine import BackupError, list_snapshots

    plan = _plan_or_404(request, slug, plan_id)
    if not plan.repository.initialized:
        return []
    try:
        snapshots = list_snapshots(plan.repository.spec(), tags=[plan.tag])
    except BackupError as exc:
        raise HttpError(409, f"The repository {plan.repository.shown_location} cannot be read: {exc}")
    return list(reversed(snapshots))


@router.get(
    "/services/{slug}/backup-plans/{plan_id}/storage",
    response={200: list[SampleOut], **errors(401, 404, 422)},
    summary="The repository's size over time",
)
@paginate(Page)
def list_storage(request, slug: str, plan_id: Id):
    """The plan's repository's size after each backup, oldest first."""
    plan = _plan_or_404(request, slug, plan_id)
    return StorageSample.objects.filter(repository=plan.repository).order_by("at", "id")


def _job_endpoint(kind: str, summary: str, doc: str):
    def start(request, slug: str, plan_id: Id):
        require(request, "act")
        plan = _plan_or_404(request, slug, plan_id)
        return Status(202, _start(request, plan, kind))

    start.__doc__ = doc
    start.__name__ = f"start_{kind}"
    router.post(
        f"/services/{{slug}}/backup-plans/{{plan_id}}/{'run' if kind == 'backup' else kind}",
        response={202: RunOut, **errors(401, 403, 404, 422)},
        summary=summary,
        operation_id=f"keepwell_backups_api_start_{kind}",
    )(start)


_job_endpoint("backup", "Back up now", "Queue a backup now; answers 202 with the run (its `id`).")
_job_endpoint("check", "Check the repository", "Queue `restic check` of the plan's repository.")
_job_endpoint("forget", "Apply the retention", "Queue forget and prune with the plan's retention.")


@router.post(
    "/services/{slug}/backup-plans/{plan_id}/drill",
    response={202: RunOut, **errors(401, 403, 404, 409, 422)},
    summary="Run a restore drill",
)
def start_drill(request, slug: str, plan_id: Id, run: Id | None = None):
    """Queue a restore drill of the latest good backup (or of backup run `run`); 409 before any backup."""
    require(request, "act")
    plan = _plan_or_404(request, slug, plan_id)
    source = _source_run(plan, run) or jobs.latest_good_backup(plan)
    if source is None:
        raise HttpError(409, f"Plan {plan.pk} has no successful backup to drill yet; run a backup first.")
    return Status(202, _start(request, plan, Run.Kind.DRILL, source_run=source))


@router.post(
    "/services/{slug}/backup-plans/{plan_id}/restore",
    response={202: RunOut, **errors(401, 403, 404, 409, 422)},
    summary="Restore a backup",
)
def start_restore(request, slug: str, plan_id: Id, payload: RestoreIn):
    """Queue a restore of the latest good backup (or `run`) to a path or into a database."""
    require(request, "manage_services")
    plan = _plan_or_404(request, slug, plan_id)
    try:
        target = validation.restore_target(
            target=payload.target,
            path=payload.path,
            database=payload.database,
            roots=settings.BACKUP_PATH_ROOTS,
        )
    except ValueError as exc:
        raise HttpError(422, str(exc))
    source = _source_run(plan, payload.run) or jobs.latest_good_backup(plan)
    if source is None:
        raise HttpError(409, f"Plan {plan.pk} has no successful backup to restore yet; run a backup first.")
    return Status(202, _start(request, plan, Run.Kind.RESTORE, target=target, source_run=source))
