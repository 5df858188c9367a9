"""Update proposals: group updates, write them into a git worktree (or a patch), run the service's tests. No Django.

Grouping: per ecosystem, all patch and minor updates together (each to the newest release of the major version
in use), and each major update alone. Writing: a new branch of the service's repository in a separate worktree,
so the user's checkout is never touched; a repository keepwell may not write to (or one that is not a git
repository) gets a copy and a patch file instead. The service's own test command then runs against the result.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import relock
from .types import NPM

MINOR_PATCH, MAJOR = "minor-patch", "major"
OUTPUT_LIMIT = 64 * 1024  # the end of a test command's output that is kept
COPY_IGNORE = shutil.ignore_patterns("node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache")
SAFE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "TERM")
NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


@dataclass(frozen=True)
class Change:
    name: str
    ecosystem: str
    old: str
    new: str
    source: str = ""  # the file the version was read from (relative to the repository)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "ecosystem": self.ecosystem,
            "from": self.old,
            "to": self.new,
            "source": self.source,
        }


@dataclass
class Group:
    ecosystem: str
    kind: str  # MINOR_PATCH or MAJOR
    changes: list[Change] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.kind == MAJOR:
            c = self.changes[0]
            return f"Update {c.name} from {c.old} to {c.new} ({c.ecosystem}, major)"
        names = ", ".join(c.name for c in self.changes[:3]) + (
            f" and {len(self.changes) - 3} more" if len(self.changes) > 3 else ""
        )
        return f"Minor and patch updates of {len(self.changes)} {self.ecosystem} dependencies: {names}"


def group(dependencies: Iterable) -> list[Group]:
    """Return the proposals for scanned dependencies (objects with name, ecosystem, version, drift, ...).

    Only direct dependencies are proposed: a transitive one moves when what pulls it in moves.
    """
    minor: dict[str, Group] = {}
    majors: list[Group] = []
    for d in dependencies:
        if not getattr(d, "direct", True) or not d.version or getattr(d, "kind", "registry") != "registry":
            continue
        same_major = getattr(d, "latest_same_major", None)
        if same_major and same_major != d.version:
            g = minor.setdefault(d.ecosystem, Group(d.ecosystem, MINOR_PATCH))
            g.changes.append(Change(d.name, d.ecosystem, d.version, same_major, d.source))
        if d.drift == "major" and d.latest:
            majors.append(
                Group(d.ecosystem, MAJOR, [Change(d.name, d.ecosystem, d.version, d.latest, d.source)])
            )
    return [minor[e] for e in sorted(minor)] + sorted(majors, key=lambda g: (g.ecosystem, g.changes[0].name))


# --- Writing the change --------------------------------------------------------------------------------


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _edit_requirements(text: str, change: Change) -> str | None:
    out, hit, dropping = [], False, False
    for line in text.splitlines(keepends=True):
        if dropping:
            # Hashes belong to the old version's files: they would refuse the new one, so they go.
            if line.strip().startswith("--hash"):
                dropping = line.rstrip().endswith("\\")
                continue
            dropping = False
        match = re.match(r"^(\s*)([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(\s*==\s*)([^\s;#\\]+)", line)
        if match and _pep503(match.group(2)) == _pep503(change.name) and match.group(5) == change.old:
            line = line[: match.start(5)] + change.new + line[match.end(5) :]
            if "--hash" in line or line.rstrip().endswith("\\"):
                ending = "\n" if line.endswith("\n") else ""
                line = re.sub(r"\s*--hash\S*", "", line).rstrip().rstrip("\\").rstrip() + ending
                dropping = True
            hit = True
        out.append(line)
    return "".join(out) if hit else None


def _edit_pyproject(text: str, change: Change) -> str | None:
    pattern = re.compile(
        r"""(["'])([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(\s*==\s*)"""
        + re.escape(change.old)
        + r"""(\s*[;"'])"""
    )
    hit = False

    def repl(m):
        nonlocal hit
        if _pep503(m.group(2)) != _pep503(change.name):
            return m.group(0)
        hit = True
        return f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{m.group(4)}{change.new}{m.group(5)}"

    new = pattern.sub(repl, text)
    poetry = _edit_poetry_tables(new, change)
    if poetry is not None:
        new, hit = poetry, True
    return new if hit else None


_POETRY_TABLE = re.compile(
    r"^\[tool\.poetry\.(dependencies|dev-dependencies|group\.[^\]]+\.dependencies)\]\s*$"
)
_POETRY_ENTRY = re.compile(r"""^(\s*)(["']?)([A-Za-z0-9][A-Za-z0-9._-]*)\2(\s*=\s*)(.*)$""")
# A constraint keepwell rewrites: one operator (or none) and one version, e.g. "^1.2", "~1.2.3", "==2.0", "1.0".
_POETRY_CONSTRAINT = re.compile(r"""(["'])(\^|~=|~|==|>=|)\s*(\d+(?:\.\d+)*(?:[-.]?[A-Za-z0-9.+-]+)?)\1""")


def _edit_poetry_tables(text: str, change: Change) -> str | None:
    """Rewrite `name = "^1.0"` (or `name = { version = "^1.0", … }`) in Poetry's dependency tables.

    The operator is kept and the version replaced, as `poetry add name@^new` would write it; any other
    constraint ("*", ">=1,<2", several lines) is left to a person.
    """
    out, hit, in_table = [], False, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = bool(_POETRY_TABLE.match(stripped))
        elif in_table:
            entry = _POETRY_ENTRY.match(line.rstrip("\r\n"))
            if entry and _pep503(entry.group(3)) == _pep503(change.name) and entry.group(3) != "python":
                value = entry.group(5)
                if value.lstrip().startswith("{"):
                    found = re.search(r"""\bversion\s*=\s*(["'][^"']*["'])""", value)
                else:
                    found = re.match(r"""\s*(["'][^"']*["'])""", value)
                constraint = _POETRY_CONSTRAINT.fullmatch(found.group(1)) if found else None
                if constraint:
                    q, op = constraint.group(1), constraint.group(2)
                    value = value[: found.start(1)] + f"{q}{op}{change.new}{q}" + value[found.end(1) :]
                    ending = line[len(line.rstrip("\r\n")) :]
                    line = "".join(entry.group(1, 2, 3, 2, 4)) + value + ending
                    hit = True
        out.append(line)
    return "".join(out) if hit else None


def _edit_package_json(text: str, change: Change) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    hit = False
    for section in NPM_SECTIONS:
        deps = data.get(section)
        if isinstance(deps, dict) and isinstance(deps.get(change.name), str):
            spec = deps[change.name]
            match = re.match(r"^(\^|~|>=|=|v)?\s*(\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?)$", spec.strip())
            if not match:
                continue  # a range keepwell does not rewrite (e.g. "1.x || 2.x"): leave it to a person
            new_spec = (match.group(1) or "") + change.new
            # Edit the text in place so the file keeps its formatting.
            needle = re.compile(r'("' + re.escape(change.name) + r'"\s*:\s*")' + re.escape(spec) + '"')
            text, n = needle.subn(lambda m, spec=new_spec: m.group(1) + spec + '"', text, count=1)
            hit = hit or bool(n)
    return text if hit else None


def manifests_for(repo: Path, change: Change) -> list[Path]:
    """Return the files where `change` may be declared, the file it was read from first."""
    candidates = []
    if change.source:
        candidates.append(repo / change.source)
    folder = (repo / change.source).parent if change.source else repo
    if change.ecosystem == NPM:
        candidates.append(folder / "package.json")
    else:
        candidates += sorted(folder.glob("requirements*.txt")) + sorted(folder.glob("requirements/*.txt"))
        candidates += sorted(folder.glob("*.in")) + [folder / "pyproject.toml"]
    seen, out = set(), []
    for c in candidates:
        try:
            resolved = c.resolve()
        except OSError:
            continue
        if resolved in seen or not resolved.is_file() or repo.resolve() not in resolved.parents:
            continue
        seen.add(resolved)
        out.append(c)
    return out


def apply(repo: Path, changes: Iterable[Change]) -> tuple[list[str], list[str]]:
    """Write `changes` into the files under `repo`; return (edited files, changes that found no declaration)."""
    edited, missed = _apply(repo, changes)
    return edited, [_words(c) for c in missed]


def _words(change: Change) -> str:
    return f"{change.name} {change.old} → {change.new}"


def _apply(repo: Path, changes: Iterable[Change]) -> tuple[list[str], list[Change]]:
    edited, missed = [], []
    for change in changes:
        done = False
        for path in manifests_for(repo, change):
            text = path.read_text()
            if path.name == "package.json":
                new = _edit_package_json(text, change)
            elif path.name == "pyproject.toml":
                new = _edit_pyproject(text, change)
            elif path.suffix in (".txt", ".in"):
                new = _edit_requirements(text, change)
            else:
                new = None
            if new is not None and new != text:
                path.write_text(new)
                rel = path.relative_to(repo).as_posix()
                if rel not in edited:
                    edited.append(rel)
                done = True
        if not done:
            missed.append(change)
    return edited, missed


# --- Running the test command ----------------------------------------------------------------------------


def detect_test_command(repo: Path) -> str | None:
    """Return the service's test command as its repository declares it, or None."""
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text())
            command = data.get("tool", {}).get("keepwell", {}).get("test-command")
            if isinstance(command, str) and command.strip():
                return command.strip()
        except (tomllib.TOMLDecodeError, AttributeError, OSError):
            pass
    package = repo / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text()).get("scripts") or {}
            test = scripts.get("test") if isinstance(scripts, dict) else None
            if isinstance(test, str) and test.strip() and "no test specified" not in test:
                return "npm test"
        except (ValueError, AttributeError, OSError):
            pass
    makefile = repo / "Makefile"
    if makefile.is_file() and re.search(r"^test\s*:", makefile.read_text(errors="replace"), re.MULTILINE):
        return "make test"
    if (repo / "tests").is_dir() or (repo / "pytest.ini").is_file():
        return "python -m pytest"
    return None


@dataclass
class TestRun:
    exit_code: int | None
    output: str
    seconds: float
    timed_out: bool = False


def run_tests(workdir: Path, command: str, timeout: int = 1800) -> TestRun:
    """Run `command` in `workdir` with a clean environment; keep the end of its output."""
    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env["CI"] = "true"
    started = time.monotonic()
    # Its own process group, so that a timeout stops everything the command started, not just the shell.
    proc = subprocess.Popen(
        ["sh", "-c", command],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        text = (out or b"").decode(errors="replace")
        return TestRun(None, _tail(text + f"\n[stopped after {timeout} s]"), time.monotonic() - started, True)
    return TestRun(proc.returncode, _tail(out.decode(errors="replace")), time.monotonic() - started)


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else "[…]\n" + text[-OUTPUT_LIMIT:]


# --- Where the change is written -------------------------------------------------------------------------


class ProposalError(Exception):
    """The proposal cannot be written or tested; the message says why and what to do."""


def _git(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1")
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise ProposalError(f"git {args[0]} failed: {(proc.stderr or proc.stdout).strip()[:500]}")
    return proc


def is_git_repository(path: Path) -> bool:
    return path.is_dir() and _git("rev-parse", "--is-inside-work-tree", cwd=path, check=False).returncode == 0


def writable(repo: Path) -> bool:
    """Return True when keepwell may add a branch to `repo` (its git directory is writable)."""
    proc = _git("rev-parse", "--git-common-dir", cwd=repo, check=False)
    if proc.returncode != 0:
        return False
    git_dir = Path(proc.stdout.strip())
    git_dir = git_dir if git_dir.is_absolute() else repo / git_dir
    return os.access(git_dir, os.W_OK) and os.access(git_dir / "refs", os.W_OK)


@dataclass
class Outcome:
    mode: str  # "branch" or "patch"
    notes: list[str] = field(default_factory=list)
    branch: str = ""
    patch: str = ""
    edited: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    command: str = ""
    run: TestRun | None = None
    not_run: str = ""  # why the tests were not run although running them was asked for


def propose(
    repository: str,
    changes: list[Change],
    branch: str,
    title: str,
    *,
    command: str | None = None,
    timeout: int = 1800,
    run: bool = True,
    lock_options: relock.Options | None = None,
) -> Outcome:
    """Write `changes` into a new branch of `repository` (or a patch), run its tests; return what happened.

    `lock_options` say where the lock tools find packages (a PyPI mirror, the npm registry) and keep caches.
    """
    repo = Path(repository).expanduser()
    if not repo.is_dir():
        raise ProposalError(
            f"The service's repository {repository!r} is not a folder on this machine; set it to the local path "
            "of a checkout so keepwell can test updates against it."
        )
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,150}$", branch) or ".." in branch:
        raise ProposalError(f"{branch!r} is not a branch name keepwell writes.")
    scratch = Path(tempfile.mkdtemp(prefix="keepwell-proposal-"))
    work = scratch / "work"
    try:
        if is_git_repository(repo) and writable(repo):
            top = Path(_git("rev-parse", "--show-toplevel", cwd=repo).stdout.strip())
            if (
                _git(
                    "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=top, check=False
                ).returncode
                == 0
            ):
                raise ProposalError(
                    f"The branch {branch} already exists in {top}; delete it to propose again."
                )
            _git("worktree", "add", "--quiet", "-b", branch, str(work), "HEAD", cwd=top)
            try:
                outcome = _write_and_test(
                    work, changes, command, timeout, mode="branch", run=run, lock_options=lock_options
                )
                outcome.branch = branch
                if outcome.edited:
                    _git("add", "--", *outcome.edited, cwd=work)
                    _git(
                        "-c",
                        "user.name=keepwell",
                        "-c",
                        "user.email=keepwell@localhost",
                        "commit",
                        "--quiet",
                        "--no-verify",
                        "-m",
                        title,
                        cwd=work,
                    )
                    outcome.patch = _git("diff", "HEAD~1", "HEAD", cwd=work).stdout
            finally:
                _git("worktree", "remove", "--force", str(work), cwd=top, check=False)
                _git("worktree", "prune", cwd=top, check=False)
            return outcome
        # Read-only or not git: work on a copy and hand back a patch.
        if is_git_repository(repo):
            _git("clone", "--quiet", "--no-hardlinks", str(repo), str(work))
        else:
            shutil.copytree(repo, work, symlinks=True, ignore=COPY_IGNORE)
        originals = {}
        outcome = _write_and_test(
            work,
            changes,
            command,
            timeout,
            mode="patch",
            originals=originals,
            run=run,
            lock_options=lock_options,
        )
        outcome.patch = "".join(
            line
            for f in outcome.edited
            for line in difflib.unified_diff(
                originals[f].splitlines(keepends=True),
                (work / f).read_text().splitlines(keepends=True),
                fromfile=f"a/{f}",
                tofile=f"b/{f}",
            )
        )
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_and_test(
    work, changes, command, timeout, *, mode, originals=None, run=True, lock_options=None
) -> Outcome:
    originals = {} if originals is None else originals
    for change in changes:
        for path in manifests_for(work, change):
            originals.setdefault(path.relative_to(work).as_posix(), path.read_text())
    edited, missed = _apply(work, changes)
    outcome = Outcome(mode=mode, edited=edited)
    stale = _relock(
        work, changes, missed, outcome, originals, lock_options or relock.Options(timeout=timeout)
    )
    outcome.missed = [_words(c) for c in missed]
    if not outcome.edited:
        raise ProposalError(
            "keepwell found no declaration it can rewrite for these updates ("
            + "; ".join(outcome.missed)
            + "). It rewrites exact pins in requirements files and pyproject.toml, Poetry constraints and "
            "ranges in package.json, and moves versions in uv.lock, poetry.lock, Pipfile.lock, "
            "package-lock.json, yarn.lock and pnpm-lock.yaml."
            + (" " + " ".join(outcome.notes) if outcome.notes else "")
        )
    command = command or detect_test_command(work)
    outcome.command = command or ""
    if not run:
        return outcome
    if not command:
        raise ProposalError(
            'The repository declares no test command. Add one: [tool.keepwell] test-command = "..." in '
            'pyproject.toml, a "test" script in package.json, or a `test` target in the Makefile.'
        )
    if stale:
        outcome.not_run = (
            f"The tests were not run: {', '.join(stale)} still holds the old versions, so they would test those. "
            "Bring the lockfile up to date on the branch and run them there."
        )
        return outcome
    outcome.run = run_tests(work, command, timeout)
    return outcome


def _relock(
    work: Path, changes, missed: list[Change], outcome: Outcome, originals: dict, options
) -> list[str]:
    """Regenerate the lockfiles the changes live in; drop from `missed` what a lockfile took; return stale ones."""
    by_lock: dict[Path, list[Change]] = {}
    for change in changes:
        folder = Path(change.source).parent if change.source else Path(".")
        lockfile = relock.find_lockfile(work, folder, change.ecosystem)
        if lockfile is not None:
            by_lock.setdefault(lockfile, []).append(change)
    stale = []
    with tempfile.TemporaryDirectory(prefix="keepwell-relock-") as scratch:
        for lockfile, moved in by_lock.items():
            for name in (lockfile.name, *relock.COMPANIONS):
                path = lockfile.parent / name
                if path.is_file():
                    originals.setdefault(path.relative_to(work).as_posix(), path.read_text())
            result = relock.relock(
                work,
                lockfile,
                moved[0].ecosystem,
                [relock.Target(c.name, c.new) for c in moved],
                options,
                Path(scratch),
            )
            outcome.notes += result.notes
            outcome.edited += [f for f in result.changed if f not in outcome.edited]
            if result.stale:
                stale.append(result.lockfile)
            elif result.changed:
                missed[:] = [c for c in missed if c not in moved or c.name in result.unreached]
    return stale
