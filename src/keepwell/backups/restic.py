"""Run restic: its version and features, its environment, its JSON output, and its errors as plain words.

keepwell never writes an archive format of its own: every byte stored goes through `restic backup`.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from keepwell.backups.errors import KINDS, BackupError, _tail, classify

__all__ = ["KINDS", "BackupError", "RepoSpec", "ResticInfo", "classify", "restic_info"]

# restic's own settings that must not leak into a run from the hub's environment.
_RESTIC_VARIABLES = (
    "RESTIC_REPOSITORY",
    "RESTIC_REPOSITORY_FILE",
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
    "RESTIC_KEY_HINT",
    "RESTIC_CACHE_DIR",
    "RESTIC_COMPRESSION",
    "RESTIC_PACK_SIZE",
)


@dataclass
class RepoSpec:
    """Where and how to reach a restic repository."""

    location: str
    password: str
    env: dict[str, str] = field(default_factory=dict)
    restic: str = "restic"
    cache_dir: str | None = None


@dataclass(frozen=True)
class ResticInfo:
    """The restic binary's version and the features keepwell relies on."""

    path: str
    version: str
    version_tuple: tuple[int, int, int]
    features: frozenset[str]


# Each feature and the first restic version that has it.
FEATURES = {
    "json": (0, 9, 0),
    "compression": (0, 14, 0),
    "read-data-subset-percent": (0, 12, 0),
    "restore-json": (0, 16, 0),
    "stdin-from-command": (0, 17, 0),
    "exit-codes": (0, 17, 0),  # 10 no repository, 11 lock failed, 12 wrong password
}

_VERSION = re.compile(r"restic (\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int]:
    """Return the version tuple from `restic version` output; raise ValueError when there is none."""
    match = _VERSION.search(text or "")
    if not match:
        raise ValueError(f"not restic version output: {text[:200]!r}")
    return (int(match[1]), int(match[2]), int(match[3]))


def features_for(version: tuple[int, int, int]) -> frozenset[str]:
    """Return the features a restic version has."""
    return frozenset(name for name, first in FEATURES.items() if version >= first)


@lru_cache(maxsize=16)
def _restic_info_cached(restic: str, _mtime: float) -> ResticInfo:
    try:
        done = subprocess.run([restic, "version"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise BackupError("missing-restic", f"{restic!r} did not answer `restic version` within 30 s.")
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError):
        raise BackupError(
            "missing-restic",
            f"restic was not found at {restic!r}. Install it (Debian: apt install restic) or set the path "
            "to the restic binary.",
        )
    try:
        version = parse_version(done.stdout)
    except ValueError:
        raise BackupError(
            "missing-restic",
            f"{restic!r} did not answer like restic ({(done.stdout or done.stderr)[:200].strip()!r}). "
            "Point keepwell at the restic binary.",
        )
    return ResticInfo(
        path=restic,
        version=".".join(map(str, version)),
        version_tuple=version,
        features=features_for(version),
    )


def restic_info(restic: str = "restic") -> ResticInfo:
    """Detect restic's version and features; raise BackupError("missing-restic") when it is absent."""
    resolved = _which(restic)
    try:
        mtime = os.stat(resolved).st_mtime
    except OSError:
        mtime = 0.0
    return _restic_info_cached(resolved, mtime)


def _which(restic: str) -> str:
    from shutil import which

    found = which(restic)
    return found or restic


def environment(spec: RepoSpec) -> dict[str, str]:
    """Return the environment for a restic process: ours without restic's own variables, plus the spec's."""
    env = {key: value for key, value in os.environ.items() if key not in _RESTIC_VARIABLES}
    env.update(spec.env)
    env["RESTIC_REPOSITORY"] = spec.location
    env["RESTIC_PASSWORD"] = spec.password
    if spec.cache_dir:
        env["RESTIC_CACHE_DIR"] = spec.cache_dir
    return env


def command(spec: RepoSpec, *args: str) -> list[str]:
    """Return the argv for a restic subcommand (the repository and password travel in the environment)."""
    argv = [spec.restic, *args]
    if not spec.cache_dir:
        argv.insert(1, "--no-cache")
    return argv


def run(
    spec: RepoSpec,
    *args: str,
    input: bytes | None = None,
    timeout: float | None = None,
    ok_codes: Iterable[int] = (0,),
) -> subprocess.CompletedProcess:
    """Run a restic subcommand to completion; raise a classified BackupError when it fails."""
    info = restic_info(spec.restic)
    argv = command(spec, *args)
    try:
        done = subprocess.run(
            argv, input=input, capture_output=True, env=environment(spec), timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise BackupError("missing-restic", f"restic was not found at {spec.restic!r}. Install restic.")
    except subprocess.TimeoutExpired as exc:
        raise BackupError(
            "unreachable",
            f"restic did not finish within {timeout:.0f} s talking to {spec.location}. Check the "
            "network and the server.",
            output=(exc.stderr or b"").decode("utf-8", "replace"),
        )
    if done.returncode not in tuple(ok_codes):
        raise classify(_decode(done.stderr), done.returncode, info=info, location=spec.location)
    return done


def run_json(spec: RepoSpec, *args: str, timeout: float | None = None):
    """Run a restic subcommand with --json and return its parsed output."""
    done = run(spec, *args, "--json", timeout=timeout)
    text = _decode(done.stdout).strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # Some commands print a JSON document per line.
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith(("{", "["))]


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "replace")


def json_lines(stream: Iterable[bytes], *, max_line: int = 1 << 20) -> Iterator[dict]:
    """Yield each JSON object of restic's --json stream, skipping lines that are not JSON objects."""
    for raw in stream:
        if len(raw) > max_line:
            continue
        line = raw.strip()
        if not line.startswith(b"{"):
            continue
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(message, dict):
            yield message


def describe_status(message: dict) -> tuple[float | None, str]:
    """Turn one restic status message into (fraction done, a short line for a progress bar)."""
    fraction = message.get("percent_done")
    if not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        fraction = None
    done_bytes = _int(message.get("bytes_done"))
    total_bytes = _int(message.get("total_bytes"))
    done_files = _int(message.get("files_done"))
    total_files = _int(message.get("total_files"))
    text = f"{human_bytes(done_bytes)} of {human_bytes(total_bytes)}, {done_files} of {total_files} files"
    return fraction, text


def _int(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def human_bytes(size: int) -> str:
    """Return a size such as "1.5 MiB"."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class Drain(threading.Thread):
    """Collect a process's stderr (its first and last 512 KiB) without letting it fill the pipe."""

    LIMIT = 512 << 10

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.head: list[bytes] = []
        self.tail: collections.deque[bytes] = collections.deque()
        self.head_size = self.tail_size = 0
        self.skipped = False

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read(65536), b""):
            if self.head_size < self.LIMIT:
                self.head.append(chunk)
                self.head_size += len(chunk)
                continue
            # restic says what finally went wrong at the end: keep the last lines too.
            self.tail.append(chunk)
            self.tail_size += len(chunk)
            while self.tail_size > self.LIMIT and len(self.tail) > 1:
                self.tail_size -= len(self.tail.popleft())
                self.skipped = True

    def text(self) -> str:
        self.join(timeout=30)
        middle = [b"\n[...]\n"] if self.skipped else []
        return b"".join([*self.head, *middle, *self.tail]).decode("utf-8", "replace").strip()


class StreamingRun:
    """A restic process whose --json stdout is read line by line while it runs."""

    def __init__(self, spec: RepoSpec, args: list[str], *, stdin=None):
        self.spec = spec
        self.info = restic_info(spec.restic)
        argv = command(spec, *args)
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment(spec),
            )
        except FileNotFoundError:
            raise BackupError("missing-restic", f"restic was not found at {spec.restic!r}. Install restic.")
        self._stderr = Drain(self.process.stderr)
        self._stderr.start()

    def messages(self) -> Iterator[dict]:
        """Yield restic's JSON messages as they arrive."""
        assert self.process.stdout is not None
        yield from json_lines(self.process.stdout)

    def wait(self) -> tuple[int, str]:
        """Wait for restic to exit; return its exit code and error output."""
        code = self.process.wait()
        return code, self._stderr.text()

    def kill(self) -> None:
        """Stop restic now."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def backup_stream(
    spec: RepoSpec,
    args: list[str],
    *,
    stdin=None,
    on_status: Callable[[dict], None] | None = None,
    on_item: Callable[[dict], None] | None = None,
    close_stdin: bool = False,
) -> tuple[dict | None, int, str]:
    """Run `restic backup --json ...`, pass status messages on, return (summary, exit code, stderr)."""
    try:
        run_ = StreamingRun(spec, ["backup", "--json", *args], stdin=stdin)
    finally:
        # Our copy of a pipe's read end must go, or the writer never sees restic exit (no SIGPIPE).
        if close_stdin and stdin is not None:
            stdin.close()
    summary = None
    try:
        for message in run_.messages():
            kind = message.get("message_type")
            if kind == "summary":
                summary = message
            elif kind == "status" and on_status is not None:
                on_status(message)
            elif kind == "verbose_status" and on_item is not None:
                on_item(message)
    except BaseException:
        run_.kill()
        raise
    code, stderr = run_.wait()
    return summary, code, stderr


def validate_tags(tags: list[str]) -> list[str]:
    """Return the tags; raise ValueError when one is empty or holds a comma (restic's separator)."""
    clean = []
    for tag in tags or []:
        if not isinstance(tag, str) or not tag.strip() or "," in tag or len(tag) > 200:
            raise ValueError(f"tag {tag!r} is not valid: use a short text without commas.")
        clean.append(tag.strip())
    return clean


def local_path(location: str) -> str | None:
    """Return the directory of a local repository ("/srv/repo" or "local:/srv/repo"), else None."""
    if location.startswith("local:"):
        location = location[len("local:") :]
    return location if location.startswith("/") else None


def full_snapshot_ids(
    spec: RepoSpec, short_ids: list[str], *, tags: list[str] | None = None
) -> dict[str, str]:
    """Map restic's short snapshot ids to full ones."""
    found: dict[str, str] = {}
    root = local_path(spec.location)
    if root is not None:
        # A local repository names each snapshot file by its id: no restic run (and key derivation) needed.
        try:
            names = os.listdir(os.path.join(root, "snapshots"))
        except OSError:
            names = []
        for short in short_ids:
            matches = [name for name in names if name.startswith(short) and len(name) == 64]
            if len(matches) == 1:
                found[short] = matches[0]
    missing = [short for short in short_ids if short not in found]
    if missing:
        listed = list_snapshots(spec, tags=tags or None)
        for short in missing:
            match = next((s for s in reversed(listed) if str(s.get("id", "")).startswith(short)), None)
            if match:
                found[short] = match["id"]
    return found


def init_repository(spec: RepoSpec) -> bool:
    """Create the repository; return False when one is already there."""
    info = restic_info(spec.restic)
    try:
        run(spec, "cat", "config", timeout=120)
        return False
    except BackupError as exc:
        if exc.kind != "no-repository":
            raise
    args = ["init"]
    try:
        run(spec, *args, timeout=300)
    except BackupError as exc:
        if "already exists" in exc.output or "already initialized" in exc.output:
            return False
        raise
    del info
    return True


def list_snapshots(spec: RepoSpec, *, tags: list[str] | None = None) -> list[dict]:
    """Return restic's snapshots as JSON, oldest first."""
    args = ["snapshots"]
    if tags:
        args += ["--tag", ",".join(validate_tags(tags))]
    snapshots = run_json(spec, *args) or []
    return sorted(snapshots, key=lambda snapshot: snapshot.get("time", ""))


def find_snapshot(spec: RepoSpec, snapshot_id: str) -> dict:
    """Return the snapshot with that id (short or full)."""
    found = run_json(spec, "snapshots", snapshot_id) or []
    if not found:
        raise BackupError("corrupt", f"Snapshot {snapshot_id} is not in the repository {spec.location}.")
    return found[0]


def repo_stats(spec: RepoSpec) -> dict:
    """Return the size the snapshots restore to, the size the repository stores, and the snapshot count.

    total_size is restic's restore-size total (what all snapshots would restore to); raw_size is its
    raw-data total (the deduplicated, compressed bytes the repository holds: the figure that grows).
    """
    restore_size = run_json(spec, "stats", "--mode", "restore-size") or {}
    raw = run_json(spec, "stats", "--mode", "raw-data") or {}
    return {
        "total_size": int(restore_size.get("total_size", 0) or 0),
        "raw_size": int(raw.get("total_size", 0) or 0),
        "snapshots": int(raw.get("snapshots_count", restore_size.get("snapshots_count", 0)) or 0),
    }


# The lines restic check prints while things are fine; every other line reports a problem.
_CHECK_INFO = re.compile(
    r"^(using temporary cache|create exclusive lock|load indexes|check all packs|check snapshots|read (all|[\d.]+%|"
    r"group|\d+/\d+)|\[\d+:\d+\]|no errors were found|repository [0-9a-f]+ opened|created new cache|"
    r"lock repository|read all data|loaded \d+|\d+ additional files were found)",
    re.IGNORECASE,
)


def check_errors(output: str) -> list[str]:
    """Return the lines of restic check's output that report a problem."""
    lines = [line.strip() for line in output.splitlines()]
    return [line for line in lines if line and not _CHECK_INFO.match(line)]


def check(spec: RepoSpec, *, read_data_subset: str | None = None) -> tuple[bool, str, list[str]]:
    """Run `restic check`; return (ok, the full output, the lines that report errors)."""
    args = ["check"]
    if read_data_subset:
        validate_subset(read_data_subset)
        args += ["--read-data-subset", read_data_subset]
    try:
        done = run(spec, *args, ok_codes=(0, 1))
    except BackupError:
        raise
    output = _decode(done.stdout) + _decode(done.stderr)
    if done.returncode == 0:
        return True, output, []
    stderr = _decode(done.stderr)
    error = classify(stderr, done.returncode, info=restic_info(spec.restic), location=spec.location)
    if error.kind in ("wrong-password", "no-repository", "unreachable", "locked", "missing-restic"):
        raise error
    errors = check_errors(output) or [_tail(stderr)]
    return False, output, errors[:200]


_SUBSET = re.compile(r"^(\d+/\d+|\d+(\.\d+)?%|\d+(\.\d+)?[KMGT]?)$")


def validate_subset(subset: str) -> str:
    """Return a valid --read-data-subset value (n/t, a percentage or a size); raise ValueError otherwise."""
    value = (subset or "").strip()
    if not _SUBSET.match(value):
        raise ValueError(
            f"read_data_subset {subset!r} is not valid: use n/t (e.g. 1/7), a percentage (e.g. 5%) or a "
            "size (e.g. 500M)."
        )
    if "/" in value:
        n, t = (int(part) for part in value.split("/"))
        if not 1 <= n <= t:
            raise ValueError(f"read_data_subset {subset!r}: n/t needs 1 <= n <= t.")
    elif value.endswith("%") and not 0 < float(value[:-1]) <= 100:
        raise ValueError(f"read_data_subset {subset!r}: a percentage must be above 0 and at most 100.")
    return value
