"""A service's repository as a folder on this machine: the path itself, or a clone kept in the data directory.

A service's `repository` is an absolute local path or a git URL (https://, http://, git://, ssh://,
git@host:path, file://). `checkout(service)` is a context manager that yields a local folder for it. For a
git URL the hub keeps a full clone in DATA_DIR/repositories/<service id>/ and, on each call, fetches it and
resets it to the remote's default branch. A per-service file lock is held while the block runs, so two jobs
never fetch (or reset the tree under each other's scan) at once.

Outbound rules: http(s) and git:// hosts pass `netguard` (loopback and private addresses are refused unless
KEEPWELL_ALLOW_PRIVATE_TARGETS=1), redirects are not followed, and file:// URLs (which read the hub's own
disk) are refused unless that setting is on. git never prompts (GIT_TERMINAL_PROMPT=0, ssh in batch mode)
and only the transports above are allowed, so a URL such as ext::… cannot run a command.

`push_branch(service, folder, branch)` sends a branch written into the clone (an update proposal) back to the
remote under the same rules, and `delete_branch(folder, branch)` removes it from the clone afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from . import netguard

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,150}$")
_USERINFO = re.compile(r"(//)[^/@\s]+@")


class RepositoryError(Exception):
    """The service's repository cannot be made available as a local folder; the message says what to do."""


def is_remote(location: str) -> bool:
    """Return True when `location` is a git URL rather than a local path."""
    location = (location or "").strip()
    return "://" in location or bool(_SCP_LIKE.match(location))


def is_available(service, roots: list[str] | tuple[str, ...] = ()) -> bool:
    """Return True when `checkout` may succeed: a git URL, or a local folder (inside `roots` when given)."""
    location = (service.repository or "").strip()
    if not location:
        return False
    if is_remote(location):
        return True
    try:
        local_path(service, roots)
    except RepositoryError:
        return False
    return True


def timeout() -> float:
    return float(getattr(settings, "REPOSITORY_TIMEOUT", 300) or 300)


def redact(text: str) -> str:
    """Hide credentials written into a URL (https://user:token@host/…)."""
    return _USERINFO.sub(r"\1•••@", text)


def local_path(service, roots: list[str] | tuple[str, ...] = ()) -> Path:
    """Return the service's local repository folder; raise RepositoryError saying what to set."""
    location = (service.repository or "").strip()
    if not location:
        raise RepositoryError(
            f"{service.name} has no repository set. Set it (service settings, or PATCH /api/v1/services/"
            f'{service.slug} with "repository") to a git URL or the absolute path of a checkout on this machine.'
        )
    if "\x00" in location:
        raise RepositoryError(f"The repository of {service.name} is not a valid path.")
    path = Path(location).expanduser()
    if not path.is_absolute() or not path.is_dir():
        raise RepositoryError(
            f"The repository of {service.name} ({location[:200]}) is not a folder on this machine. Set it to "
            "the absolute path of a checkout, or to a git URL the hub can clone."
        )
    if roots:
        real = path.resolve()
        if not any(real == Path(r).resolve() or Path(r).resolve() in real.parents for r in roots):
            raise RepositoryError(
                f"The repository of {service.name} ({location[:200]}) is not inside {', '.join(roots)} "
                "(KEEPWELL_DEPS_REPOSITORY_ROOTS). Move the checkout there, or use a git URL."
            )
    return path


def check_url(url: str) -> list[str]:
    """Refuse a git URL keepwell must not fetch; return the git transports it needs."""
    if url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
        raise RepositoryError(f"{redact(url)[:200]!r} is not a valid git URL.")
    if _SCP_LIKE.match(url):
        return ["ssh"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise RepositoryError(f"{redact(url)[:200]!r} is not a valid git URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        try:
            netguard.check_url(url)
        except netguard.BlockedTarget as exc:
            raise RepositoryError(f"The repository URL is refused: {exc}") from None
        return [scheme]
    if scheme == "git":  # the unauthenticated git daemon protocol: the same address rules as http(s)
        try:
            netguard.check_host(parts.hostname or "", parts.port or 9418)
        except netguard.BlockedTarget as exc:
            raise RepositoryError(f"The repository URL is refused: {exc}") from None
        return ["git"]
    if scheme in ("ssh", "git+ssh", "ssh+git"):
        if not parts.hostname:
            raise RepositoryError(
                f"{redact(url)[:200]!r} has no host name. Use ssh://git@host/owner/repo.git."
            )
        return ["ssh"]
    if scheme == "file":
        if not settings.ALLOW_PRIVATE_TARGETS:
            raise RepositoryError(
                "file:// repository URLs read the hub's own disk and are refused. Set the repository to the "
                "absolute path of the checkout instead, or set KEEPWELL_ALLOW_PRIVATE_TARGETS=1."
            )
        return ["file"]
    raise RepositoryError(
        f"{redact(url)[:200]!r} is not a git URL keepwell fetches. Use https://…, ssh://…, git@host:path or "
        "an absolute local path."
    )


# Variables that would point git at another repository than the clone (set when run from a git hook).
_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)


def _env(protocols: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",
        SSH_ASKPASS="true",
        GIT_ALLOW_PROTOCOL=":".join(protocols),
        LC_ALL="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new")
    return env


def _git(args: list[str], *, env: dict, deadline: float, cwd: Path | None = None) -> str:
    """Run git with `args`; raise RepositoryError on failure or when `deadline` passes."""
    cmd = ["git", "-c", "http.followRedirects=false", "-c", "core.hooksPath=/dev/null", *args]
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise RepositoryError("git is not installed on this machine; install it to scan git URLs.") from None
    try:
        out, err = proc.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise _timed_out() from None
    if proc.returncode != 0:
        detail = redact((err or out).strip())[-800:]
        raise RepositoryError(f"git {args[0]} failed: {detail or f'exit code {proc.returncode}'}")
    return out


class _TimedOut(RepositoryError):
    pass


def _timed_out() -> RepositoryError:
    return _TimedOut(
        f"Fetching the repository took longer than {timeout():g} s and was stopped. Check that the URL is "
        "reachable from the hub, or raise KEEPWELL_REPOSITORY_TIMEOUT."
    )


def clone_dir(service) -> Path:
    return Path(settings.DATA_DIR) / "repositories" / str(service.pk)


@contextlib.contextmanager
def _locked(path: Path, deadline: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RepositoryError(
                        "Another job is still using this service's repository; try again when it is done."
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _update(url: str, target: Path, protocols: list[str], deadline: float) -> None:
    env = _env(protocols)
    if (target / ".git").is_dir():
        _git(["remote", "set-url", "origin", url], env=env, deadline=deadline, cwd=target)
    else:
        shutil.rmtree(target, ignore_errors=True)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            # A full clone: history scans read every commit, a blob-less clone would fetch them one by one.
            _git(["clone", "--no-checkout", "--quiet", "--", url, str(partial)], env=env, deadline=deadline)
        except RepositoryError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        partial.rename(target)
    _git(["fetch", "--prune", "--quiet", "origin"], env=env, deadline=deadline, cwd=target)
    try:
        _git(["remote", "set-head", "origin", "--auto"], env=env, deadline=deadline, cwd=target)
    except _TimedOut:
        raise
    except RepositoryError:
        raise RepositoryError(
            "The repository has no default branch (is it empty?). Push a branch to it and scan again."
        ) from None
    _git(["reset", "--hard", "--quiet", "origin/HEAD"], env=env, deadline=deadline, cwd=target)
    _git(["clean", "-ffdxq"], env=env, deadline=deadline, cwd=target)


@contextlib.contextmanager
def checkout(service, *, roots: list[str] | tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield the service's repository as a local folder; raise RepositoryError saying what to do.

    A local path is yielded as it is (it must be absolute, a folder, and inside `roots` when given). A git
    URL is cloned or fetched into DATA_DIR/repositories/<service id> and reset to the remote's default branch;
    the clone is locked for the service until the block ends.
    """
    location = (service.repository or "").strip()
    if not is_remote(location):
        yield local_path(service, roots)
        return
    protocols = check_url(location)
    deadline = time.monotonic() + timeout()
    target = clone_dir(service)
    with _locked(target.with_name(f"{target.name}.lock"), deadline):
        _update(location, target, protocols, deadline)
        yield target


def _check_branch(branch: str) -> None:
    if not _BRANCH.match(branch) or ".." in branch or branch.endswith((".lock", "/", ".")):
        raise RepositoryError(f"{branch[:200]!r} is not a branch name keepwell pushes.")


def push_branch(service, folder: Path, branch: str) -> str:
    """Push `branch` of the service's clone in `folder` to the same branch of its remote; return the redacted URL.

    Call it inside `checkout(service)`, so the clone's origin is the service's repository and the clone is
    locked. Raise RepositoryError (with git's redacted reason) when the remote refuses or cannot be reached.
    """
    _check_branch(branch)
    location = (service.repository or "").strip()
    if not is_remote(location):
        raise RepositoryError(
            f"The repository of {service.name} is not a git URL; there is no remote to push to."
        )
    protocols = check_url(location)
    deadline = time.monotonic() + timeout()
    ref = f"refs/heads/{branch}"
    try:
        _git(
            ["push", "--quiet", "--no-verify", "origin", f"{ref}:{ref}"],
            env=_env(protocols),
            deadline=deadline,
            cwd=folder,
        )
    except _TimedOut:
        raise RepositoryError(
            f"Pushing the branch {branch} took longer than {timeout():g} s and was stopped. Check that the "
            "remote is reachable from the hub, or raise KEEPWELL_REPOSITORY_TIMEOUT."
        ) from None
    return redact(location)


def delete_branch(folder: Path, branch: str) -> None:
    """Delete the local `branch` of the clone in `folder` when it is there, so the clone stays as a scan left it."""
    _check_branch(branch)
    deadline = time.monotonic() + timeout()
    env = _env([])
    try:
        _git(
            ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            env=env,
            deadline=deadline,
            cwd=folder,
        )
    except _TimedOut:
        raise
    except RepositoryError:
        return  # not there: nothing to delete
    _git(["branch", "--quiet", "-D", branch], env=env, deadline=deadline, cwd=folder)
