"""`keepwell backup run|drill|restore|check|forget|list` and `keepwell backup-self`."""

import json
import sys

from keepwell.commands import CommandError

DEFAULT_WAIT = 600  # seconds a command waits for a repository another job is using


def register(subparsers) -> None:
    backup = subparsers.add_parser(
        "backup",
        help="run, drill, restore and list backup plans",
        description=(
            "Work on a backup plan from this machine, with a progress bar: back up now, run a restore drill, "
            "restore, check the repository or apply the retention. Each exits 0 on success and non-zero "
            "with a message on failure; the run is recorded like a scheduled one."
        ),
    )
    actions = backup.add_subparsers(dest="backup_action", metavar="ACTION", required=True)

    def job(name, help_text, description):
        parser = actions.add_parser(name, help=help_text, description=description)
        parser.add_argument(
            "plan_id", metavar="PLAN_ID", type=int, help="the plan's id (see `keepwell backup list`)"
        )
        parser.add_argument(
            "--wait",
            type=int,
            default=DEFAULT_WAIT,
            metavar="SECONDS",
            help=f"how long to wait while another job uses the repository (default: {DEFAULT_WAIT})",
        )
        parser.set_defaults(func=run_command, kind=name if name != "run" else "backup")
        return parser

    job("run", "back up a plan now", "Back up the plan's sources now.")
    drill = job(
        "drill",
        "restore the latest backup into a sandbox and verify it",
        "Restore the plan's latest good backup (or --run) into a sandbox, verify it against its manifest, "
        "record the evidence and the restore time, and clean up.",
    )
    drill.add_argument(
        "--run", type=int, metavar="RUN_ID", help="the backup run to drill (default: the latest good)"
    )
    restore = job(
        "restore",
        "restore a backup to a folder or into a database",
        "Restore the plan's latest good backup (or --run) into a new or empty folder (--target) or load its "
        "database dump into a database (--database).",
    )
    where = restore.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", metavar="PATH", help="a new or empty folder to restore the files into")
    where.add_argument(
        "--database",
        metavar="URL",
        help="a database to load the dump into: postgres://..., mysql://... or sqlite:////abs/new.db",
    )
    restore.add_argument(
        "--run", type=int, metavar="RUN_ID", help="the backup run to restore (default: the latest good)"
    )
    job("check", "check the plan's repository", "Run `restic check` on the plan's repository.")
    job(
        "forget", "apply the plan's retention", "Forget the snapshots the retention does not keep, and prune."
    )

    listing = actions.add_parser(
        "list",
        help="list backup plans, or one plan's runs",
        description="List every backup plan; with PLAN_ID, list that plan's recent runs.",
    )
    listing.add_argument("plan_id", metavar="PLAN_ID", type=int, nargs="?", help="show this plan's runs")
    listing.add_argument(
        "--format", choices=["table", "json"], default="table", help="output format (default: table)"
    )
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="runs to show (default: 20)")
    listing.set_defaults(func=list_command)

    own = subparsers.add_parser(
        "backup-self",
        help="back up keepwell's own database and data directory",
        description=(
            "Back up the hub's database (SQLite through its online backup API, PostgreSQL with pg_dump) and its "
            "data directory (keys included) to a restic repository, then apply the default retention. The "
            "repository and password come from the options or from KEEPWELL_SELF_BACKUP_REPOSITORY and "
            "KEEPWELL_SELF_BACKUP_PASSWORD (or KEEPWELL_SELF_BACKUP_PASSWORD_FILE)."
        ),
    )
    own.add_argument("--repository", metavar="LOCATION", help="the restic repository (default: the setting)")
    own.add_argument("--password-file", metavar="FILE", help="a file holding the repository's password")
    own.add_argument("--no-forget", action="store_true", help="keep every snapshot (skip forget and prune)")
    own.set_defaults(func=self_command)


class Bar:
    """A tqdm progress bar on stderr (shown on a terminal only) fed by the engine's progress callback."""

    def __init__(self, description: str):
        from tqdm import tqdm

        self.bar = tqdm(
            total=100,
            desc=description,
            unit="%",
            file=sys.stderr,
            disable=None,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}",
        )

    def __call__(self, fraction, message: str) -> None:
        if fraction is not None:
            self.bar.n = max(0.0, min(100.0, fraction * 100))
        if message:
            self.bar.set_postfix_str(str(message)[:60], refresh=False)
        self.bar.refresh()

    def close(self):
        self.bar.close()


def _plan(plan_id: int):
    from keepwell.commands import ensure_database

    from .models import Plan

    ensure_database()
    plan = Plan.objects.select_related("service", "repository", "organization").filter(pk=plan_id).first()
    if plan is None:
        raise CommandError(
            f"There is no backup plan {plan_id}. `keepwell backup list` shows the plans.", code=2
        )
    return plan


def _source(plan, run_id):
    from .models import Run

    if run_id is None:
        return None
    run = (
        plan.runs.filter(pk=run_id, kind=Run.Kind.BACKUP, state=Run.State.SUCCEEDED)
        .exclude(snapshots=[])
        .first()
    )
    if run is None:
        raise CommandError(f"Plan {plan.pk} has no successful backup run {run_id}.", code=2)
    return run


def run_command(args) -> int:
    from django.conf import settings

    from . import jobs, validation
    from .models import Run

    plan = _plan(args.plan_id)
    kwargs = {}
    if args.kind == "restore":
        try:
            kwargs["target"] = validation.restore_target(
                path=args.target, database=args.database, roots=settings.BACKUP_PATH_ROOTS
            )
        except ValueError as exc:
            raise CommandError(str(exc), code=2) from None
    if args.kind in ("drill", "restore"):
        kwargs["source_run"] = _source(plan, getattr(args, "run", None)) or jobs.latest_good_backup(plan)
        if kwargs["source_run"] is None:
            raise CommandError(
                f"Plan {plan.pk} ({plan.name}) has no successful backup yet; run `keepwell backup run {plan.pk}` first."
            )
    run = jobs.create_run(plan, args.kind, trigger=Run.Trigger.CLI, **kwargs)
    bar = Bar(f"{run.get_kind_display()} of {plan.name}")
    try:
        run = jobs.execute(run, progress=bar, wait=max(0, args.wait))
    except jobs.RepositoryBusy as exc:
        Run.objects.filter(pk=run.pk, state=Run.State.QUEUED).update(
            state=Run.State.FAILED, error_kind="locked", error_message=str(exc)
        )
        raise CommandError(
            f"{exc} Gave up after {args.wait} seconds; try again later or raise --wait."
        ) from None
    finally:
        bar.close()
    if run.state != Run.State.SUCCEEDED:
        raise CommandError(
            f"{run.get_kind_display()} of plan {plan.pk} ({plan.name}) failed [{run.error_kind}]: {run.error_message}"
        )
    print(_summary(run))
    return 0


def _summary(run) -> str:
    from .models import Run

    head = f"{run.get_kind_display()} #{run.pk} of {run.plan.name} succeeded"
    took = f" in {run.duration:.1f} s" if run.duration is not None else ""
    if run.kind == Run.Kind.BACKUP:
        return f"{head}{took}: snapshot(s) {', '.join(run.snapshot_ids)}, {run.bytes_added or 0} bytes added."
    if run.kind == Run.Kind.DRILL:
        lines = [f"{head}: restore took {run.duration:.1f} s."]
        for e in run.evidence:
            if isinstance(e, dict):
                lines.append(f"  {'ok  ' if e.get('ok') else 'FAIL'} {e.get('check')}: {e.get('detail', '')}")
        return "\n".join(lines)
    if run.kind == Run.Kind.RESTORE:
        where = run.target.get("path") or validation_redact(run.target.get("url", ""))
        return f"{head}{took}: restored snapshot(s) {', '.join(run.snapshot_ids)} to {where}."
    if run.kind == Run.Kind.FORGET:
        return (
            f"{head}: kept {len(run.details.get('kept', []))}, removed {len(run.details.get('removed', []))}."
        )
    return f"{head}{took}."


def validation_redact(url: str) -> str:
    from .validation import redact_url

    return redact_url(url)


def list_command(args) -> int:
    from keepwell.commands import ensure_database

    from .models import Plan

    if args.plan_id is not None:
        return _list_runs(_plan(args.plan_id), args)
    ensure_database()
    plans = Plan.objects.select_related("service", "organization", "repository").order_by(
        "organization__slug", "id"
    )
    rows = [
        {
            "id": p.pk,
            "organization": p.organization.slug,
            "service": p.service.slug,
            "name": p.name,
            "repository": p.repository.shown_location,
            "schedule": p.schedule,
            "enabled": p.enabled,
            "last_good_backup_at": _iso(p.last_good_backup_at),
            "last_verified_restore_at": _iso(p.last_verified_restore_at),
        }
        for p in plans
    ]
    if args.format == "json":
        print(json.dumps({"plans": rows}, indent=2))
        return 0
    if not rows:
        print("No backup plans yet. Create one on a service's Backups page or with the API.")
        return 0
    _table(
        rows,
        [
            "id",
            "organization",
            "service",
            "name",
            "schedule",
            "last_good_backup_at",
            "last_verified_restore_at",
        ],
    )
    return 0


def _list_runs(plan, args) -> int:
    runs = plan.runs.order_by("-created", "-id")[: max(1, args.limit)]
    rows = [
        {
            "id": r.pk,
            "kind": r.kind,
            "state": r.state,
            "trigger": r.trigger,
            "started": _iso(r.started),
            "duration": round(r.duration, 1) if r.duration is not None else None,
            "snapshots": ",".join(r.snapshot_ids),
            "error": f"{r.error_kind}: {r.error_message}" if r.error_kind else "",
        }
        for r in runs
    ]
    if args.format == "json":
        print(json.dumps({"plan": plan.pk, "runs": rows}, indent=2))
        return 0
    print(f"Plan {plan.pk}: {plan.name} ({plan.service.slug}) → {plan.repository.shown_location}")
    if not rows:
        print("No runs yet.")
        return 0
    _table(rows, ["id", "kind", "state", "trigger", "started", "duration", "snapshots", "error"])
    return 0


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _table(rows: list[dict], columns: list[str]) -> None:
    cells = [[("" if r[c] is None else str(r[c]))[:80] for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def self_command(args) -> int:
    from . import selfbackup

    try:
        repository, password = selfbackup.configured(args.repository, args.password_file)
    except ValueError as exc:
        raise CommandError(str(exc), code=2) from None
    bar = Bar("keepwell's own backup")
    try:
        result = selfbackup.run(repository, password, progress=bar, forget=not args.no_forget)
    except selfbackup.SelfBackupError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.close()
    print(result["summary"])
    return 0
