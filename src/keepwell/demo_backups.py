"""The demo's backups: plans with a history of runs, written as the rows a real run leaves behind.

The demo never runs restic (it must work on a machine without it): the runs, their manifests and the
repository's size samples are history, and each finished run then goes through the backups app's own
`health.after_run`, so the findings and the scorecard are what the app would have made of that history.
The repositories are folders under the data directory that do not exist: a scheduled job on a running hub
fails at once, on this machine, and says why.
"""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction

PASSWORD = "demo-repository-password"  # noqa: S105 - the demo's own, for a repository that does not exist
HOST = "backup-1.demo.example"

# service, plan name, database (name, tables with rows at the start, rows added per day), schedule, days
PLANS = [
    (
        "shop-api",
        "Orders database",
        ("shop", {"orders": 184_220, "order_lines": 612_904, "customers": 40_118, "stock": 2_310}, 1_450),
        "0 3 * * *",
        14,
    ),
    (
        "billing-worker",
        "Billing database",
        ("billing", {"invoices": 95_400, "charges": 101_873, "refunds": 1_204}, 320),
        "30 2 * * *",
        10,
    ),
]
FAILED_DAY = 5  # days ago the backup of the first plan failed
FAILURE = (
    "source",
    "pg_dump failed for PostgreSQL backup@db.demo.example:5432/shop (exit 1): pg_dump: error: connection to "
    'server at "db.demo.example" (192.0.2.40), port 5432 failed: FATAL:  the database system is in recovery '
    "mode. Check the database URL, the user's rights and that the server is up.",
)


def _location(slug: str) -> str:
    return str(Path(settings.DATA_DIR) / "demo-backups" / slug)


def _fire_times(line: str, days: int, now):
    """Return the plan's last `days` backup times (by its daily cron line), oldest first."""
    minute, hour = (int(x) for x in line.split()[:2])
    last = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if last > now - timedelta(minutes=30):
        last -= timedelta(days=1)
    return [last - timedelta(days=i) for i in range(days - 1, -1, -1)]


def _manifest(database: str, tables: dict, started, seconds: float, size: int) -> dict:
    return {
        "version": 1,
        "started": started.isoformat(),
        "duration": seconds,
        "host": HOST,
        "tools": {"restic": "0.17.3", "pg_dump": "pg_dump (PostgreSQL) 16.6"},
        "sources": [
            {
                "source": 0,
                "kind": "postgres",
                "what": f"PostgreSQL {database} on db.demo.example",
                "file": f"/{database}.dump",
                "format": "pg_dump custom",
                "files": 1,
                "bytes": size,
                "bytes_processed": size,
                "tables": tables,
                "schema_hash": "3f9c0b4e6d2a17c58e01b2f4a9d6c3e7b8a5f1d0c2e4b6a8d9f0e1c2b3a4d5e6",
                "server_version": "PostgreSQL 16.6",
                "duration": seconds,
            }
        ],
    }


def _snapshot(seed: str) -> dict:
    import hashlib

    full = hashlib.sha256(seed.encode()).hexdigest()
    return {"source": 0, "id": full, "short_id": full[:8]}


def _history(plan, database, now, days) -> int:
    from keepwell.backups import health
    from keepwell.backups.models import Run, StorageSample

    name, tables, per_day = database
    made = 0
    good = []
    for i, when in enumerate(_fire_times(plan.schedule, days, now)):
        day = (now - when).days
        tables_now = {t: rows + per_day * i * (3 if t.endswith("lines") else 1) for t, rows in tables.items()}
        size = 1_650_000_000 + sum(tables_now.values()) * 310  # bytes of the dump
        stored = 2_100_000_000 + i * 41_000_000
        run = Run(plan=plan, kind=Run.Kind.BACKUP, trigger=Run.Trigger.SCHEDULE, created=when, started=when)
        if plan.service.slug == "shop-api" and day == FAILED_DAY:
            run.state = Run.State.FAILED
            run.finished = when + timedelta(seconds=75)
            run.duration = 75.0
            run.error_kind, run.error_message = FAILURE
            run.output = f"{FAILURE[0]}: {FAILURE[1]}"
        else:
            seconds = round(95 + i * 1.7, 3)
            run.state = Run.State.SUCCEEDED
            run.finished = when + timedelta(seconds=seconds)
            run.duration = seconds
            run.sources = list(plan.sources)
            run.snapshots = [_snapshot(f"{plan.service.slug}:{when.isoformat()}")]
            run.manifest = _manifest(name, tables_now, when, seconds, size)
            run.bytes_added = 38_000_000 + i * 900_000
            run.total_size = size
            run.output = (
                f"Backed up 1 source(s) in {seconds:.1f} s; added {run.bytes_added} bytes to the repository."
            )
        run.save()
        made += 1
        if run.state == Run.State.SUCCEEDED:
            StorageSample.objects.create(
                repository=plan.repository, at=run.finished, total_size=stored, bytes_added=run.bytes_added,
                snapshots=i + 1,
            )  # fmt: skip
            good.append(run)
            plan.last_good_backup_at = run.finished
        health.after_run(run)
    # A restore drill of the newest backup that is a few hours old: it restored and every check passed.
    drill_source = next((r for r in reversed(good) if r.finished + timedelta(hours=4) < now), None)
    if drill_source is not None:
        when = drill_source.finished + timedelta(hours=3)
        restore = round(drill_source.duration * 0.8, 3)
        rows = drill_source.manifest["sources"][0]["tables"]
        drill = Run.objects.create(
            plan=plan,
            kind=Run.Kind.DRILL,
            trigger=Run.Trigger.SCHEDULE,
            state=Run.State.SUCCEEDED,
            created=when,
            started=when,
            finished=when + timedelta(seconds=restore + 40),
            duration=restore,
            source_run=drill_source,
            snapshots=drill_source.snapshots,
            evidence=[
                {
                    "check": f"{drill_source.manifest['sources'][0]['what']}: restore",
                    "ok": True,
                    "detail": "pg_restore into a scratch database finished without errors",
                },
                {"check": "schema hash", "ok": True, "detail": "matches the manifest"},
                *(
                    {"check": f"rows in {table}", "ok": True, "detail": f"{count} rows, as in the manifest"}
                    for table, count in rows.items()
                ),
            ],
            output=f"Drill: {len(rows) + 2} of {len(rows) + 2} checks passed; restore took {restore:.1f} s.",
        )
        plan.last_verified_restore_at = drill.finished
        health.after_run(drill)
        made += 1
    plan.save(update_fields=["last_good_backup_at", "last_verified_restore_at"])
    return made


def seed(services: dict, now) -> int:
    """Create the demo's backup plans with their history; return how many runs were written."""
    from keepwell.backups import health, planning
    from keepwell.backups.models import Plan, Repository

    made = 0
    for slug, name, database, schedule, days in PLANS:
        service = services[slug]
        if Plan.objects.filter(service=service, name=name).exists():
            continue
        with transaction.atomic():
            repository = Repository.for_location(service.organization, _location(slug), PASSWORD)
            repository.initialized = True  # it holds the history's snapshots
            repository.save(update_fields=["initialized"])
            plan = Plan(
                organization=service.organization,
                service=service,
                repository=repository,
                created=now - timedelta(days=days, hours=2),
            )
            planning.apply(
                plan,
                {
                    "name": name,
                    "schedule": schedule,
                    "tz": "UTC",
                    "sources": [
                        {"kind": "postgres", "url": f"postgres://backup@db.demo.example:5432/{database[0]}"}
                    ],
                    "retention": {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6},
                },
                service.organization,
            )
            plan.save()
            made += _history(plan, database, now, days)
            health.periodic(plan, now)
    return made
