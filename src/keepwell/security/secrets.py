"""Find secrets committed to a repository with detect-secrets: the working tree, and the git history on request.

A secret's value never leaves this module: callers get detect-secrets' SHA-1 of it (`hashed_secret`, the
same hash a `.secrets.baseline` file holds) and a masked hint showing at most its first four characters.
No Django import: the CLI and the jobs share it.
"""

import json
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings, get_plugins, get_settings, transient_settings

BASELINE_FILE = ".secrets.baseline"
MAX_FILE_BYTES = 2_000_000  # larger files are skipped (minified bundles, data dumps), and counted
MAX_DIFF_BYTES = 5_000_000  # a commit whose diff is larger is skipped, and counted
GIT_TIMEOUT = 300

# detect-secrets keeps its plugin and filter settings in process-wide state: one scan at a time.
_lock = threading.Lock()


class ScanError(Exception):
    """The repository cannot be scanned; the message says why and what to do."""


@dataclass(frozen=True)
class Secret:
    """One potential secret: where it is, what kind, and detect-secrets' hash of it (never the value)."""

    type: str
    filename: str
    line: int
    hashed_secret: str
    hint: str
    commit: str = ""  # the commit that added it (history scans); "" when found in the working tree only
    in_tree: bool = True  # still present in the working tree

    @property
    def identity(self) -> tuple[str, str, str]:
        """Return what makes it the same secret across scans: (filename, hashed_secret, type)."""
        return (self.filename, self.hashed_secret, self.type)

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "filename": self.filename,
            "line": self.line,
            "hashed_secret": self.hashed_secret,
            "hint": self.hint,
            "commit": self.commit,
            "in_tree": self.in_tree,
        }


@dataclass
class Report:
    secrets: list[Secret] = field(default_factory=list)
    accepted: list[Secret] = field(default_factory=list)  # found, but listed in the repository's baseline
    files_scanned: int = 0
    files_skipped: int = 0
    commits_scanned: int = 0
    commits_skipped: int = 0


def mask(value: str | None) -> str:
    """Return a hint of a secret: its first four characters and its length, or only its length when short."""
    if not value:
        return "••••"
    value = value.strip()
    if len(value) < 16:
        return f"•••• ({len(value)} characters)"
    return f"{value[:4]}•••• ({len(value)} characters)"


# --- The repository's own .secrets.baseline -------------------------------------------------------------


def _safe_config(baseline: dict) -> dict:
    """Return the baseline's plugin and filter settings, without custom code paths (a repository cannot run code)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    known = {cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()}
    plugins = [
        p
        for p in baseline.get("plugins_used") or []
        if isinstance(p, dict) and p.get("name") in known and "path" not in p
    ]
    filters = [
        f
        for f in baseline.get("filters_used") or []
        if isinstance(f, dict)
        and isinstance(f.get("path"), str)
        and f["path"].startswith("detect_secrets.filters.")
    ]
    return {"plugins_used": plugins, "filters_used": filters}


def read_baseline(root: Path) -> tuple[dict | None, set[tuple[str, str, str]]]:
    """Return (safe settings or None, identities of the accepted secrets) from the repository's baseline file."""
    path = root / BASELINE_FILE
    if not path.is_file():
        return None, set()
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScanError(
                f"{BASELINE_FILE} is larger than {MAX_FILE_BYTES} bytes; it cannot be a baseline."
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScanError(
            f"{BASELINE_FILE} in the repository is not valid JSON ({exc}). Regenerate it with "
            "`detect-secrets scan > .secrets.baseline`, or delete it."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("results", {}), dict):
        raise ScanError(f'{BASELINE_FILE} is not a detect-secrets baseline (no "results" object).')
    accepted = set()
    for filename, items in data.get("results", {}).items():
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("is_secret") is True:
                continue  # audited as a real secret: it stays reported
            hashed, kind = item.get("hashed_secret"), item.get("type")
            if isinstance(hashed, str) and isinstance(kind, str):
                accepted.add((str(filename), hashed, kind))
    config = _safe_config(data)
    return (config if config["plugins_used"] else None), accepted


# --- Listing and scanning ---------------------------------------------------------------------------------


def _git(root: Path, *args: str, text: bool = True) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT,
            text=text,
            errors="replace" if text else None,
        )
    except FileNotFoundError:
        raise ScanError("git is not installed on this machine; install it to scan repositories.") from None
    except subprocess.TimeoutExpired:
        raise ScanError(
            f"git {args[0]} took longer than {GIT_TIMEOUT} s; the repository is too large."
        ) from None
    if result.returncode != 0:
        raise ScanError(f"git {args[0]} failed: {result.stderr.strip()[:300]}")
    return result.stdout


def is_git_repository(root: Path) -> bool:
    return (root / ".git").exists()


def list_files(root: Path) -> list[str]:
    """Return the files to scan, relative to `root`: those git tracks, or every file outside .git."""
    if is_git_repository(root):
        names = [n for n in _git(root, "ls-files", "-z").split("\0") if n]
    else:
        names = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in (".git", "node_modules", ".venv")]
            names += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return sorted(n for n in names if n != BASELINE_FILE)


@contextmanager
def _settings_or_error(config: dict | None):
    """Apply the baseline's plugin settings (or detect-secrets' defaults); a bad setting is a ScanError."""
    try:
        context = transient_settings(config) if config else default_settings()
        context.__enter__()
    except Exception as exc:  # noqa: BLE001  detect-secrets raises bare TypeErrors on bad plugin options
        raise _bad_settings(exc) from None
    try:
        try:
            get_plugins()  # plugins are built lazily: build them now, so bad options fail here
        except Exception as exc:  # noqa: BLE001
            raise _bad_settings(exc) from None
        yield
    finally:
        context.__exit__(None, None, None)


def _bad_settings(exc: Exception) -> ScanError:
    return ScanError(
        f"The plugin settings in {BASELINE_FILE} are not valid ({exc.__class__.__name__}: {exc}). "
        "Regenerate it with `detect-secrets scan > .secrets.baseline`."
    )


def _secret(potential, filename: str, commit: str = "", in_tree: bool = True) -> Secret:
    return Secret(
        type=potential.type,
        filename=str(filename),
        line=int(potential.line_number or 0),
        hashed_secret=potential.secret_hash,
        hint=mask(potential.secret_value),
        commit=commit,
        in_tree=in_tree,
    )


def _scan_tree(root: Path, report: Report) -> list[Secret]:
    found = []
    real_root = root.resolve()
    for name in list_files(root):
        path = root / name
        try:
            if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(real_root):
                continue  # a link may point outside the repository
            if path.stat().st_size > MAX_FILE_BYTES:
                report.files_skipped += 1
                continue
        except OSError:
            continue
        collection = SecretsCollection(root=str(root))
        collection.scan_file(name)
        report.files_scanned += 1
        for filename, potential in collection:
            found.append(_secret(potential, filename))
    return found


def _commits_with_diffs(root: Path, max_commits: int):
    """Yield (commit, diff text, or None when over MAX_DIFF_BYTES) from HEAD back, newest first, streaming."""
    command = ["git", "-C", str(root), "log", "--no-color", "--no-renames", "--no-ext-diff", "--root", "-p",
               "--format=%x00%H", f"--max-count={max_commits}"]  # fmt: skip
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        )
    except FileNotFoundError:
        raise ScanError("git is not installed on this machine; install it to scan repositories.") from None
    deadline = time.monotonic() + GIT_TIMEOUT
    sha, lines, size = None, [], 0
    try:
        for line in process.stdout:
            if time.monotonic() > deadline:
                raise ScanError(f"git log took longer than {GIT_TIMEOUT} s; the history is too long to scan.")
            if line.startswith("\0"):
                if sha is not None:
                    yield sha, ("".join(lines) if size <= MAX_DIFF_BYTES else None)
                sha, lines, size = line[1:].strip(), [], 0
                continue
            size += len(line)
            if size <= MAX_DIFF_BYTES:  # a huge commit is not kept in memory, only counted
                lines.append(line)
        if sha is not None:
            yield sha, ("".join(lines) if size <= MAX_DIFF_BYTES else None)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    if process.returncode not in (0, -9) and sha is None:
        raise ScanError(f"git log failed: {process.stderr.read().strip()[:300]}")


def _scan_history(root: Path, max_commits: int, report: Report) -> list[Secret]:
    from unidiff.errors import UnidiffParseError

    # A diff names files that may no longer exist (and relative to the repository, not to our directory):
    # detect-secrets' "is the file there" filter would drop every one of them.
    get_settings().disable_filters("detect_secrets.filters.common.is_invalid_file")
    oldest: dict[tuple[str, str, str], Secret] = {}
    for sha, diff in _commits_with_diffs(root, max_commits):
        report.commits_scanned += 1
        if diff is None:
            report.commits_skipped += 1
            continue
        if not diff.strip():
            continue
        collection = SecretsCollection(root=str(root))
        try:
            collection.scan_diff(diff)
        except (UnidiffParseError, UnicodeError, ValueError):
            report.commits_skipped += 1
            continue
        for filename, potential in collection:
            secret = _secret(potential, filename, commit=sha, in_tree=False)
            oldest[secret.identity] = secret  # log runs newest first: the last one seen added it
    return list(oldest.values())


def scan(path: str | Path, *, history: bool = False, max_commits: int = 1000) -> Report:
    """Scan the repository at `path` (and its history when asked); return what was found and accepted."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ScanError(f"{root} is not a directory; give the path of a checked-out repository.")
    if history and not is_git_repository(root):
        raise ScanError(f"{root} is not a git repository, so it has no history to scan.")
    config, accepted_ids = read_baseline(root)
    report = Report()
    with _lock:
        with _settings_or_error(config):
            tree = _scan_tree(root, report)
            past = _scan_history(root, max_commits, report) if history else []
    merged: dict[tuple[str, str, str], Secret] = {}
    for secret in tree:
        merged.setdefault(secret.identity, secret)
    for secret in past:
        current = merged.get(secret.identity)
        if current is None:
            merged[secret.identity] = secret
        else:  # in the tree now: keep today's line, and name the commit that added it
            merged[secret.identity] = Secret(**{**current.as_dict(), "commit": secret.commit})
    for secret in sorted(merged.values(), key=lambda s: (s.filename, s.line, s.type)):
        (report.accepted if secret.identity in accepted_ids else report.secrets).append(secret)
    return report
