"""Setting a plan's fields from what a person gave (the API and the web form share it)."""

from django.conf import settings

from keepwell.core import cron

from . import validation
from .models import Repository, RepositoryConflict

SCHEDULE_FIELDS = {"schedule", "tz", "prune_schedule", "check_schedule", "drill_schedule", "enabled"}
PLAIN_FIELDS = (
    "name",
    "check_read_data_subset",
    "verify_command",
    "grace_minutes",
    "max_restore_age_days",
    "enabled",
)


class PlanError(ValueError):
    """One field is wrong (status 422), or the repository is registered with another password (409)."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field, self.status = field, status


def apply(plan, data: dict, organization) -> None:
    """Validate the fields in `data` and set them on `plan` (unsaved); raise PlanError naming the field."""
    from .engine import validate_retention, validate_sources

    if "tz" in data:
        try:
            cron.zone(data["tz"])
        except ValueError as exc:
            raise PlanError("tz", f"tz: {exc}") from None
        plan.tz = data["tz"]
    if "schedule" in data:
        try:
            plan.schedule = cron.validate_cron(data["schedule"], plan.tz)
        except ValueError as exc:
            raise PlanError("schedule", str(exc)) from None
    for field in ("prune_schedule", "check_schedule", "drill_schedule"):
        if field in data:
            line = (data[field] or "").strip()
            try:
                setattr(plan, field, cron.validate_cron(line, plan.tz, field=field) if line else "")
            except ValueError as exc:
                raise PlanError(field, str(exc)) from None
    if "sources" in data:
        try:
            sources = validate_sources(data["sources"])
            validation.check_source_paths(sources, settings.BACKUP_PATH_ROOTS)
        except ValueError as exc:
            raise PlanError("sources", str(exc)) from None
        plan.sources = sources
    if "retention" in data:
        try:
            plan.retention = validate_retention(data["retention"])
        except ValueError as exc:
            raise PlanError("retention", str(exc)) from None
    if (data.get("verify_command") or "").strip() and not settings.BACKUP_ALLOW_COMMANDS:
        raise PlanError(
            "verify_command",
            "verify_command: this hub does not run verification commands; its operator may allow them with "
            "KEEPWELL_BACKUP_ALLOW_COMMANDS=1",
        )
    for field in PLAIN_FIELDS:
        if field in data:
            setattr(plan, field, data[field])
    if "repository" in data or "password" in data or "repository_env" in data:
        location = data.get("repository") or (plan.repository.location if plan.repository_id else None)
        try:
            location = validation.check_location(location, settings.BACKUP_PATH_ROOTS) if location else None
        except ValueError as exc:
            raise PlanError("repository", str(exc)) from None
        password = data.get("password")
        if not location or not password:
            raise PlanError("password", "password: give the repository's password with the repository")
        try:
            plan.repository = Repository.for_location(
                organization, location, password, data.get("repository_env")
            )
        except RepositoryConflict as exc:
            raise PlanError("password", str(exc), status=409) from None
