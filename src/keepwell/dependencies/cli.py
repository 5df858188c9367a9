"""`keepwell deps scan|propose PATH`: drift, end-of-life runtimes and tested update proposals, with no server."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path

from keepwell.commands import CommandError

FORMATS = ("table", "json", "markdown")
EOL_LEVELS = ("past", "approaching")
PROGRESS_FROM = 20  # packages; fewer finish before a bar is worth drawing


def register(subparsers) -> None:
    deps = subparsers.add_parser(
        "deps",
        help="dependency drift and end-of-life runtimes",
        description="Dependency drift, libyears and end-of-life runtimes of a repository.",
    )
    actions = deps.add_subparsers(dest="deps_action", metavar="ACTION", required=True)
    scan = actions.add_parser(
        "scan",
        help="scan a repository's manifests and lockfiles against PyPI and npm",
        description=(
            "Read the manifests and lockfiles under PATH, look every dependency up on PyPI or npm (through "
            "an on-disk cache) and report the version in use, the latest allowed by the declared range, the "
            "latest, how far behind it is and its libyears; and the end of life of the Python, Node, "
            "framework and database versions the repository declares. Exit status 1 when a --max-* or "
            "--fail-on-* threshold is passed, 2 when PATH cannot be scanned. Needs no server or database. "
            "Registry addresses and the cache come from KEEPWELL_DEPS_* variables (see the manual)."
        ),
    )
    scan.add_argument("path", metavar="PATH", help="the repository (or any folder) to scan")
    scan.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    _registry_arguments(scan)
    scan.add_argument(
        "--max-libyears",
        type=float,
        metavar="N",
        help="exit 1 when the total libyears of the repository exceed N",
    )
    scan.add_argument(
        "--max-major-behind",
        type=int,
        metavar="N",
        help="exit 1 when any dependency is more than N major versions behind its latest",
    )
    scan.add_argument(
        "--fail-on-eol",
        choices=EOL_LEVELS,
        help="exit 1 when a runtime is past its end of life (past), or also when it is near it (approaching)",
    )
    scan.add_argument("--fail-on-yanked", action="store_true", help="exit 1 when a yanked version is in use")
    scan.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    scan.set_defaults(func=scan_command, django=False)

    propose = actions.add_parser(
        "propose",
        help="write update proposals into branches of a repository and run its own tests on each",
        description=(
            "Scan PATH as `deps scan` does, group the outdated direct dependencies (per ecosystem: patch and "
            "minor updates together, each major alone), write each group into a new branch keepwell/deps-... "
            "of the git repository at PATH (through a separate worktree: the checkout is not touched; a "
            "folder that is not a git repository gets a patch file instead), bring its lockfile along with "
            "the lockfile's own tool, then run the repository's test command on it. Exit status 0 when every "
            "proposal was written and its tests passed (or were not run), 1 when a proposal's tests failed or "
            "it could not be written, 2 when PATH cannot be scanned. Needs no server or database."
        ),
    )
    propose.add_argument("path", metavar="PATH", help="the repository to propose updates for")
    propose.add_argument(
        "--group",
        choices=("all", "minor-patch", "major"),
        default="all",
        help="which proposals to write: the minor and patch groups, the major updates, or all (default)",
    )
    propose.add_argument("--ecosystem", choices=("PyPI", "npm"), help="only this ecosystem's dependencies")
    propose.add_argument(
        "--no-tests", action="store_true", help="write the proposals but do not run the test command"
    )
    propose.add_argument(
        "--test-command",
        metavar="CMD",
        help="the command that tests the repository (default: the one it declares, see the manual)",
    )
    propose.add_argument(
        "--timeout",
        type=int,
        metavar="SECONDS",
        help="stop a test command after this long (KEEPWELL_DEPS_TEST_TIMEOUT, default 1800)",
    )
    propose.add_argument(
        "--patch-dir",
        metavar="DIR",
        default=".",
        help="where patch files go when PATH is not a git repository keepwell may write to (default: .)",
    )
    propose.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (default: table)"
    )
    _registry_arguments(propose)
    propose.set_defaults(func=propose_command, django=False)


def _registry_arguments(parser) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer from the cache only; send no request (KEEPWELL_DEPS_OFFLINE)",
    )
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="where registry answers are cached (KEEPWELL_DEPS_CACHE_DIR)"
    )
    parser.add_argument("--pypi-url", metavar="URL", help="the PyPI to ask (KEEPWELL_DEPS_PYPI_URL)")
    parser.add_argument("--npm-url", metavar="URL", help="the npm registry to ask (KEEPWELL_DEPS_NPM_URL)")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"KEEPWELL_{name}", default)


def _env_int(name: str, default: int) -> int:
    value = _env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"KEEPWELL_{name} must be a whole number, got {value!r}.", code=2) from None


def options_from_env(args):
    """Return scan options from the command line, then KEEPWELL_DEPS_* variables, then the defaults."""
    from .scan import Options

    data_dir = Path(_env("DATA_DIR", str(Path.home() / ".local" / "share" / "keepwell"))).expanduser()
    offline_env = _env("DEPS_OFFLINE").strip().lower() in ("1", "true", "yes", "on")
    return Options(
        pypi_url=(args.pypi_url or _env("DEPS_PYPI_URL", "https://pypi.org")).rstrip("/"),
        npm_url=(args.npm_url or _env("DEPS_NPM_URL", "https://registry.npmjs.org")).rstrip("/"),
        eol_url=_env("DEPS_EOL_URL", "https://endoflife.date").rstrip("/"),
        cache_dir=Path(args.cache_dir or _env("DEPS_CACHE_DIR", str(data_dir / "deps-cache"))).expanduser(),
        offline=args.offline or offline_env,
        concurrency=max(1, _env_int("DEPS_CONCURRENCY", 16)),
        retries=max(0, _env_int("DEPS_RETRIES", 3)),
        ttl=_env_int("DEPS_CACHE_TTL", 3600),
        eol_warn_days=_env_int("DEPS_EOL_WARN_DAYS", 180),
    )


def _progress(total: int):
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, file=sys.stderr, unit="pkg", desc="registries", leave=False)
    _progress.bar = bar
    return lambda: bar.update(1)


def _scan(args):
    """Scan args.path with the options from the command line and environment; a bar on long scans."""
    from .scan import scan

    root = Path(args.path)
    if not root.is_dir():
        raise CommandError(f"{args.path} is not a folder; give the path of a repository to scan.", code=2)
    options = options_from_env(args)
    try:
        return scan(root, options, progress=_progress), options
    finally:
        bar = getattr(_progress, "bar", None)
        if bar is not None:
            bar.close()
            _progress.bar = None


def scan_command(args) -> int:
    for flag, value in (("--max-libyears", args.max_libyears), ("--max-major-behind", args.max_major_behind)):
        if value is not None and (value < 0 or (isinstance(value, float) and not math.isfinite(value))):
            raise CommandError(f"{flag} must be a number of 0 or more, got {value}.", code=2)
    report, _ = _scan(args)
    failures = thresholds(report, args)
    text = render(report, args.format, failures)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise CommandError(f"Cannot write the report to {args.output}: {exc.strerror}.", code=2) from None
    else:
        sys.stdout.write(text)
    for failure in failures:
        print(f"keepwell deps scan: {failure}", file=sys.stderr)
    return 1 if failures else 0


def thresholds(report, args) -> list[str]:
    """Return one sentence per threshold the report passes."""
    failures = []
    if args.max_libyears is not None and report.total_libyears > args.max_libyears:
        failures.append(
            f"total libyears {report.total_libyears:.2f} exceed --max-libyears {args.max_libyears:g}."
        )
    if args.max_major_behind is not None:
        far = [d for d in report.dependencies if d.behind_major > args.max_major_behind]
        if far:
            names = ", ".join(f"{d.name} {d.version} (latest {d.latest})" for d in far[:5])
            failures.append(
                f"{len(far)} dependencies are more than {args.max_major_behind} major versions behind: {names}."
            )
    if args.fail_on_eol:
        levels = {"past"} if args.fail_on_eol == "past" else {"past", "approaching"}
        hit = [r for r in report.runtimes if r.status in levels]
        if hit:
            failures.append(
                "end of life: " + "; ".join(f"{r.label} ({r.source}) {_eol_words(r)}" for r in hit) + "."
            )
    if args.fail_on_yanked:
        yanked = [d for d in report.dependencies if d.yanked]
        if yanked:
            failures.append(
                "yanked versions in use: " + ", ".join(f"{d.name} {d.version}" for d in yanked) + "."
            )
    return failures


def _eol_words(r) -> str:
    if r.status == "past":
        return f"ended {r.eol.isoformat()}" if r.eol else "has ended"
    if r.status == "approaching":
        return f"ends {r.eol.isoformat()} (in {r.days_left} days)"
    if r.status == "supported":
        return f"supported until {r.eol.isoformat()}" if r.eol else "supported"
    return "no end-of-life data"


def _notes(d) -> str:
    notes = []
    if d.yanked:
        notes.append("yanked" + (f": {d.yanked_reason}" if d.yanked_reason else ""))
    if d.deprecated:
        notes.append(f"deprecated: {d.deprecated}")
    if d.no_release_in_two_years:
        notes.append("no release in two years")
    if d.kind != "registry":
        notes.append(f"{d.kind} dependency, not looked up")
    if d.error:
        notes.append(d.error)
    return "; ".join(notes)


def _rows(report):
    for d in report.dependencies:
        yield [
            d.name,
            d.ecosystem,
            d.version or f"({d.specifier or 'any'})",
            d.latest_allowed or "",
            d.latest or "",
            d.drift or ("" if d.error or d.version is None else "up to date"),
            "" if d.libyears is None else f"{d.libyears:.2f}",
            _notes(d),
        ]


HEADERS = ["name", "ecosystem", "version", "allowed", "latest", "behind", "libyears", "notes"]


def render(report, fmt: str, failures: list[str] | None = None) -> str:
    """Return the report as text in `fmt` (table, json or markdown)."""
    if fmt == "json":
        data = report.as_dict()
        data["failures"] = failures or []
        return json.dumps(data, indent=2) + "\n"
    counts = report.counts()
    summary = (
        f"{len(report.dependencies)} dependencies, {report.total_libyears:.2f} libyears in total "
        f"(median {report.median_libyears:.2f}); behind: {counts['major']} major, {counts['minor']} minor, "
        f"{counts['patch']} patch; {counts['up_to_date']} up to date, {counts['unknown']} unknown."
    )
    runtime_rows = [[r.label, r.source, r.status, _eol_words(r)] for r in report.runtimes]
    if fmt == "markdown":
        lines = ["# Dependencies", "", summary, ""]
        lines += _markdown_table(HEADERS, list(_rows(report)))
        if runtime_rows:
            lines += ["", "## End of life", ""] + _markdown_table(
                ["runtime", "declared in", "status", "when"], runtime_rows
            )
        if report.errors:
            lines += ["", "## Files not read", ""] + [f"- {_md(e)}" for e in report.errors]
        return "\n".join(lines) + "\n"
    lines = _text_table(HEADERS, list(_rows(report)))
    lines += ["", summary]
    if runtime_rows:
        lines += [""] + _text_table(["runtime", "declared in", "status", "when"], runtime_rows)
    for error in report.errors:
        lines.append(f"not read: {error}")
    return "\n".join(lines) + "\n"


def _md(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _markdown_table(headers, rows) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def _text_table(headers, rows) -> list[str]:
    rows = [[str(c).replace("\n", " ") for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    widths[-1] = 0  # the last column is not padded

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers)] + [line(r) for r in rows]


# --- keepwell deps propose ----------------------------------------------------------------------------------


def _branch(group) -> str:
    """Return the branch of a proposal: the same updates always get the same name (so none is written twice)."""
    from .proposals import MAJOR

    changes = json.dumps([c.as_dict() for c in group.changes], sort_keys=True)
    if group.kind == MAJOR:
        c = group.changes[0]
        tail = f"{c.name}-{c.new}"
    else:
        tail = f"minor-patch-{hashlib.sha256(changes.encode()).hexdigest()[:8]}"
    return "keepwell/deps-" + re.sub(r"[^A-Za-z0-9._-]+", "-", f"{group.ecosystem.lower()}-{tail}").strip(
        "-."
    )


def propose_command(args) -> int:
    from . import proposals as prop
    from . import registry, relock

    if args.timeout is not None and args.timeout <= 0:
        raise CommandError(f"--timeout must be a number of seconds above 0, got {args.timeout}.", code=2)
    timeout = args.timeout or max(1, _env_int("DEPS_TEST_TIMEOUT", 1800))
    patch_dir = Path(args.patch_dir)
    report, options = _scan(args)
    groups = [
        g
        for g in prop.group(report.dependencies)
        if (args.group == "all" or g.kind == args.group)
        and (not args.ecosystem or g.ecosystem == args.ecosystem)
    ]
    lock_options = relock.Options(
        pypi_index=None if options.pypi_url == registry.PYPI_URL else f"{options.pypi_url}/simple/",
        npm_registry=options.npm_url,
        cache_dir=Path(options.cache_dir) / "lock-tools" if options.cache_dir else None,
        repository_tools=True,  # the user's own repository on the user's own machine
    )
    results = []
    bar = None
    if len(groups) > 1 and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(groups), file=sys.stderr, unit="proposal", desc="proposals", leave=False)
    try:
        for g in groups:
            results.append(_propose_one(prop, args, g, timeout, lock_options, patch_dir))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if args.format == "json":
        sys.stdout.write(json.dumps({"proposals": results}, indent=2) + "\n")
    elif not results:
        sys.stdout.write("Nothing to propose: no direct dependency is outdated.\n")
    else:
        rows = [[r["title"], _where(r), _tests(r), " ".join(r["notes"] + r["missed"] + [r["error"]]).strip()]
                for r in results]  # fmt: skip
        sys.stdout.write("\n".join(_text_table(["proposal", "written to", "tests", "notes"], rows)) + "\n")
    failed = [r for r in results if r["error"] or (r["tests"] and r["tests"]["exit_code"] != 0)]
    return 1 if failed else 0


def _propose_one(prop, args, group, timeout, lock_options, patch_dir) -> dict:
    branch = _branch(group)
    result = {
        "title": group.title,
        "ecosystem": group.ecosystem,
        "group": group.kind,
        "changes": [c.as_dict() for c in group.changes],
        "mode": "",
        "branch": "",
        "patch_file": "",
        "edited": [],
        "missed": [],
        "notes": [],
        "tests": None,
        "error": "",
    }
    try:
        outcome = prop.propose(
            args.path,
            group.changes,
            branch,
            group.title,
            command=args.test_command,
            timeout=timeout,
            run=not args.no_tests,
            lock_options=lock_options,
        )
    except prop.ProposalError as exc:
        result["error"] = str(exc)
        return result
    result.update(mode=outcome.mode, branch=outcome.branch, edited=outcome.edited, missed=outcome.missed)
    result["notes"] = outcome.notes + ([outcome.not_run] if outcome.not_run else [])
    if outcome.mode == "patch":
        path = patch_dir / (branch.replace("/", "-") + ".patch")
        try:
            patch_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(outcome.patch)
            result["patch_file"] = str(path)
        except OSError as exc:
            result["error"] = f"Cannot write the patch to {path}: {exc.strerror}."
    if outcome.run is not None:
        run = outcome.run
        result["tests"] = {
            "command": outcome.command,
            "exit_code": run.exit_code,
            "seconds": round(run.seconds, 1),
            "timed_out": run.timed_out,
            "output": run.output[-4000:],
        }
    return result


def _where(r) -> str:
    if r["branch"]:
        return f"branch {r['branch']}"
    if r["patch_file"]:
        return f"patch {r['patch_file']}"
    return "-"


def _tests(r) -> str:
    t = r["tests"]
    if t is None:
        return "not run" if not r["error"] else "-"
    if t["timed_out"]:
        return f"stopped after {t['seconds']:g} s"
    return "passed" if t["exit_code"] == 0 else f"failed (exit {t['exit_code']})"
