"""`keepwell security scan PATH` (no server needed) and `keepwell security osv update|import|status`."""

from __future__ import annotations

import sys
from pathlib import Path

from keepwell.commands import CommandError

FORMATS = ("table", "json", "sarif", "cyclonedx")
FAIL_ON = ("critical", "high", "medium", "low", "any", "never")


def register(subparsers) -> None:
    security = subparsers.add_parser(
        "security",
        help="known vulnerabilities, SBOMs and the OSV database",
        description="Known vulnerabilities of a repository's dependencies (OSV), SBOMs, and the local OSV database.",
    )
    actions = security.add_subparsers(dest="security_action", metavar="ACTION", required=True)

    scan = actions.add_parser(
        "scan",
        help="scan a repository's lockfiles for known vulnerabilities",
        description=(
            "Read the manifests and lockfiles under PATH (or the one file PATH) and match every pinned or locked "
            "version against OSV advisories. A dependency declared with a range only is reported as unpinned, "
            "never matched. Uses the local database (keepwell security osv update), or the export given with "
            "--osv; needs no server. Exit status 1 when a vulnerability is at or above --fail-on, 2 when PATH "
            "or the vulnerability data cannot be read."
        ),
    )
    scan.add_argument("path", metavar="PATH", help="the repository, folder or lockfile to scan")
    scan.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    scan.add_argument(
        "--osv",
        metavar="FILE_OR_DIR",
        help="use this OSV export (all.zip), a directory of exports or .json records, or an index file, "
        "instead of the local database",
    )
    scan.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="any",
        metavar="SEVERITY",
        help="exit 1 when a vulnerability is at or above SEVERITY: critical, high, medium, low, any "
        "(the default: any vulnerability) or never",
    )
    scan.add_argument(
        "--name", metavar="NAME", help="the application's name in a cyclonedx SBOM (default: the folder's)"
    )
    scan.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    scan.set_defaults(func=scan_command, django=False)

    osv = actions.add_parser(
        "osv",
        help="build and refresh the local OSV vulnerability database",
        description="The local vulnerability database, built from OSV exports in the data directory.",
    )
    osv_actions = osv.add_subparsers(dest="osv_action", metavar="ACTION", required=True)
    update = osv_actions.add_parser(
        "update",
        help="download the OSV exports (PyPI, npm) and rebuild the database",
        description=(
            "Download each ecosystem's OSV export (KEEPWELL_OSV_URL, KEEPWELL_OSV_ECOSYSTEMS) when it changed, "
            "then rebuild the database from them. The hub also does this on a schedule."
        ),
    )
    update.add_argument("--force", action="store_true", help="download and rebuild even when nothing changed")
    update.set_defaults(func=update_command, django=True)
    imp = osv_actions.add_parser(
        "import",
        help="build the database from exports on disk (offline installs)",
        description=(
            "Build the database from OSV exports you copied here: all.zip files, directories of them, or "
            "directories of .json records. It replaces the current database."
        ),
    )
    imp.add_argument(
        "paths", nargs="+", metavar="FILE_OR_DIR", help="an export, a directory, or a .json record"
    )
    imp.set_defaults(func=import_command, django=False)
    status = osv_actions.add_parser(
        "status",
        help="show what the local database holds",
        description="Show when the database was built and from what.",
    )
    status.set_defaults(func=status_command, django=False)

    # The secrets and posture commands of the security app register themselves here when present.
    import importlib.util

    if importlib.util.find_spec("keepwell.security.cli_posture") is not None:
        from . import cli_posture

        cli_posture.register(actions)


def _progress_bar(desc: str):
    """Return (callback, close) drawing a progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, unit=" records", desc=desc, leave=False)
    state = {"n": 0}

    def update(n: int) -> None:
        bar.update(n - state["n"])
        state["n"] = n

    return update, bar.close


def scan_command(args) -> int:
    from .osv import OsvError
    from .osv.report import as_json, as_sarif, as_table, dumps
    from .scan import open_index, scan

    path = Path(args.path)
    if not path.exists():
        raise CommandError(
            f"{args.path} does not exist; give a repository, a folder or a lockfile to scan.", code=2
        )
    if args.osv is not None and not Path(args.osv).exists():
        raise CommandError(
            f"--osv {args.osv} does not exist; give an OSV export (all.zip) or a directory.", code=2
        )
    callback, close = _progress_bar("reading OSV export") if args.osv is not None else (None, lambda: None)
    try:
        db = open_index(args.osv, progress=callback)
    except OsvError as exc:
        raise CommandError(str(exc), code=2) from None
    finally:
        close()
    try:
        report = scan(path, db)
    finally:
        db.close()
    if not report.dependencies and report.errors:
        for error in report.errors:
            print(f"keepwell security scan: could not read {error}", file=sys.stderr)
        raise CommandError(f"Nothing under {args.path} could be read; see the errors above.", code=2)
    if args.format == "json":
        text = dumps(as_json(report))
    elif args.format == "sarif":
        text = dumps(as_sarif(report))
    elif args.format == "cyclonedx":
        from . import sbom

        name = args.name or (path.resolve().name if path.is_dir() else path.resolve().parent.name)
        text = sbom.to_json(sbom.build(name, report.dependencies, report.found)) + "\n"
    else:
        text = as_table(report)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {args.output} ({exc.strerror or exc}).", code=2) from None
    else:
        sys.stdout.write(text)
    if args.format != "table":
        for error in report.errors:
            print(f"keepwell security scan: could not read {error}", file=sys.stderr)
    failing = failures(report, args.fail_on)
    if failing:
        print(
            f"keepwell security scan: {len(failing)} vulnerabilities at or above --fail-on {args.fail_on}.",
            file=sys.stderr,
        )
        return 1
    return 0


def failures(report, fail_on: str) -> list:
    """Return the findings that make the scan fail at threshold `fail_on`."""
    from . import cvss

    if fail_on == "never":
        return []
    if fail_on == "any":
        return list(report.found)
    return [f for f in report.found if cvss.at_or_above(f.vulnerability.severity, fail_on)]


def update_command(args) -> int:
    from django.conf import settings

    from .osv_sync import update

    callback, close = _progress_bar("indexing")
    try:
        result = update(
            data_dir=settings.DATA_DIR,
            url_template=settings.OSV_URL,
            ecosystems=settings.OSV_ECOSYSTEMS,
            max_bytes=settings.OSV_MAX_DOWNLOAD_MB * 2**20,
            force=args.force,
            progress=callback,
        )
    finally:
        close()
    if result.skipped_busy:
        raise CommandError(
            "Another keepwell process is updating the vulnerability database; try again in a minute."
        )
    for ecosystem, why in result.failed.items():
        print(f"keepwell security osv update: {ecosystem}: {why}", file=sys.stderr)
    if result.downloaded:
        print(f"Downloaded: {', '.join(result.downloaded)}.")
    if result.unchanged:
        print(f"Unchanged since the last update: {', '.join(result.unchanged)}.")
    if result.stats is not None:
        _print_stats(result.stats)
    elif not result.failed:
        print("The database is up to date.")
    return 1 if result.failed else 0


def import_command(args) -> int:
    from .osv import OsvError
    from .osv_sync import import_exports
    from .scan import osv_dir

    for p in args.paths:
        if not Path(p).exists():
            raise CommandError(
                f"{p} does not exist; give an OSV export (all.zip), a directory or a .json record.", code=2
            )
    callback, close = _progress_bar("indexing")
    try:
        stats = import_exports(args.paths, data_dir=osv_dir().parent, progress=callback)
    except OsvError as exc:
        raise CommandError(str(exc), code=2) from None
    except OSError as exc:
        raise CommandError(
            f"The database could not be written ({exc.strerror or exc}). Check KEEPWELL_DATA_DIR."
        ) from None
    finally:
        close()
    _print_stats(stats)
    return 0


def _print_stats(stats) -> None:
    print(
        f"Built the vulnerability database: {stats.advisories} advisories from {stats.records} records "
        f"({stats.withdrawn} withdrawn, {stats.skipped} unreadable) in {stats.seconds:.1f} s."
    )
    for problem in stats.problems[:5]:
        print(f"  skipped {problem}", file=sys.stderr)


def status_command(args) -> int:
    from .osv import Database, OsvError
    from .scan import NO_INDEX, index_path

    path = index_path()
    if not path.exists():
        raise CommandError(NO_INDEX)
    try:
        db = Database.open(path)
    except OsvError as exc:
        raise CommandError(str(exc)) from None
    meta = db.meta()
    db.close()
    print(f"Database: {path}")
    print(f"Built: {meta.get('built_at', '?')}")
    print(f"Advisories: {meta.get('advisories', '?')} ({meta.get('withdrawn', '0')} withdrawn ones left out)")
    print(f"Ecosystems: {meta.get('ecosystems', '?')}")
    print(f"Sources: {', '.join(__import__('json').loads(meta.get('sources', '[]')))}")
    return 0
