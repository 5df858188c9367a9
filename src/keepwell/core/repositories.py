"""A service's repository as a folder on this machine: the path itself, or a clone kept in the data directory.

A service's `repository` is an absolute local path or a git URL (https://, http://, git://, ssh://,
git@host:path, file://). `checkout(service)` is a context manager that yields a local folder for it. For a
git URL the hub keeps a full clone in DATA_DIR/repositories/<service id>/ and, on each call, fetches it and
resets it to the remote's default branch. A per-service file lock is held while the block runs, so two jobs
never fetch (or reset the tree under each other's scan) at once.

Outbound rules: http(s), git:// and ssh (ssh://… and git@host:path, port 22 unless given) hosts pass
`netguard` (loopback and private addresses are refused unless KEEPWELL_ALLOW_PRIVATE_TARGETS=1), redirects
are not followed, and file:// URLs (which read the hub's own disk) are refused unless that setting is on. git
never prompts (GIT_TERMINAL_PROMPT=0, ssh in batch mode) and only the transports above are allowed, so a URL
such as ext::… cannot run a command.

DNS rebinding: for http(s) git is pinned to the addresses netguard approved (`-c http.curloptResolve=
host:port:address`, git 2.37 or later), so a second DNS answer cannot send it elsewhere. git:// and ssh are
not pinned: they resolve the name again themselves. git's own git:// connect has no such option, and ssh's
`-o HostName=<address>` would override the worker's ssh configuration (aliases, jump hosts, a custom
GIT_SSH_COMMAND). So for them a name that changes its answer between the check and the connection is not
caught; only the port the URL names (9418 or 22 by default) can be reached that way.

Clean-up: a clone lives as long as its service and its git URL. When a service is deleted (alone or with
its organization), or its `repository` changes, the clone and its lock file are removed once the
transaction commits (`remove_clone`). A clone a job is using at that moment is left alone, and
`sweep_clones` (run nightly) removes it later with any other folder whose service is gone.

`copy_clone(folder, target)` copies a clone for long work outside its lock, and `push_branch(service, folder,
branch)` sends a branch written there (an update proposal) to the service's remote under the same rules.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
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
from django.db import transaction

from . import netguard

_SCP_LIKE = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?!//)")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,150}$")
_USERINFO = re.compile(r"(//)[^/@\s]+@")
_CLONE_NAME = re.compile(r"^(?P<id>[0-9]+)(?:\.lock|\.partial)?$")  # what DATA_DIR/repositories holds

log = logging.getLogger(__name__)


class RepositoryError(Exception):
    """The service's repository cannot be made available as a local folder; the message says what to do."""


def is_remote(location: str) -> bool:
    """Return True when `location` is a git URL rather than a local path."""
    location = (location or "").strip()
    return "://" in location or bool(_SCP_LIKE.match(location))


def is_available(service) -> bool:
    """Return True when `checkout` may succeed: a git URL, or a local folder (inside KEEPWELL_REPOSITORY_ROOTS)."""
    location = (service.repository or "").strip()
    if not location:
        return False
    if is_remote(location):
        return True
    try:
        local_path(service)
    except RepositoryError:
        return False
    return True


def timeout() -> float:
    return float(getattr(settings, "REPOSITORY_TIMEOUT", 300) or 300)


def redact(text: str) -> str:
    """Hide credentials written into a URL (https://user:token@host/…)."""
    return _USERINFO.sub(r"\1•••@", text)


def local_path(service) -> Path:
    """Return the service's local repository folder; raise RepositoryError saying what to set.

    When KEEPWELL_REPOSITORY_ROOTS is set, the folder must be inside one of its folders: every practice that
    reads a repository (dependency and security scans, secrets, update proposals) comes through here.
    """
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
    roots = getattr(settings, "REPOSITORY_ROOTS", None) or []
    if roots:
        real = path.resolve()
        if not any(real == Path(r).resolve() or Path(r).resolve() in real.parents for r in roots):
            raise RepositoryError(
                f"The repository of {service.name} ({location[:200]}) is not inside {', '.join(roots)} "
                "(KEEPWELL_REPOSITORY_ROOTS). Move the checkout there, or use a git URL."
            )
    return path


def check_url(url: str) -> list[str]:
    """Refuse a git URL keepwell must not fetch; return the git transports it needs."""
    return _check(url)[0]


def _guard(host: str, port: int, kind: str) -> list[str]:
    try:
        return netguard.check_host(host, port)
    except netguard.BlockedTarget as exc:
        raise RepositoryError(f"The repository URL is refused ({kind} to {host}:{port}): {exc}") from None


def _pins(host: str, port: int, addresses: list[str]) -> list[str]:
    """Return git options that make curl connect to `host`:`port` only at `addresses` (DNS rebinding)."""
    try:
        ipaddress.ip_address(host)
        return []  # an address already: nothing is resolved
    except ValueError:
        pass
    if not host.isascii():
        raise RepositoryError(
            f"The host name {host!r} is not ASCII. Write it in its ASCII form (xn--…) in the repository URL."
        )
    # A scoped address (fe80::1%eth0, only with private targets allowed) cannot be written in a pin.
    listed = ",".join(f"[{a}]" if ":" in a else a for a in addresses if "%" not in a)
    if not listed:
        return []
    names = dict.fromkeys([host, host.rstrip(".")])
    return [arg for name in names for arg in ("-c", f"http.curloptResolve={name}:{port}:{listed}")]


def _check(url: str) -> tuple[list[str], list[str]]:
    """Refuse a git URL keepwell must not fetch; return the git transports and the git options it needs."""
    if url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
        raise RepositoryError(f"{redact(url)[:200]!r} is not a valid git URL.")
    scp = _SCP_LIKE.match(url)
    if scp:
        _guard(scp["host"], 22, "ssh")
        return ["ssh"], []
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise RepositoryError(f"{redact(url)[:200]!r} is not a valid git URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        try:
            addresses = netguard.check_url(url)
        except netguard.BlockedTarget as exc:
            raise RepositoryError(f"The repository URL is refused: {exc}") from None
        port = parts.port or (443 if scheme == "https" else 80)
        return [scheme], _pins(parts.hostname or "", port, addresses)
    if scheme == "git":  # the unauthenticated git daemon protocol: the same address rules as http(s)
        _guard(parts.hostname or "", parts.port or 9418, "git")
        return ["git"], []
    if scheme in ("ssh", "git+ssh", "ssh+git"):
        if not parts.hostname:
            raise RepositoryError(
                f"{redact(url)[:200]!r} has no host name. Use ssh://git@host/owner/repo.git."
            )
        _guard(parts.hostname, parts.port or 22, "ssh")
        return ["ssh"], []
    if scheme == "file":
        if not settings.ALLOW_PRIVATE_TARGETS:
            raise RepositoryError(
                "file:// repository URLs read the hub's own disk and are refused. Set the repository to the "
                "absolute path of the checkout instead, or set KEEPWELL_ALLOW_PRIVATE_TARGETS=1."
            )
        return ["file"], []
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


def _git(
    args: list[str], *, env: dict, deadline: float, cwd: Path | None = None, options: list[str] = ()
) -> str:
    """Run git with `args` (after the git `options`); raise RepositoryError on failure or past `deadline`."""
    cmd = ["git", "-c", "http.followRedirects=false", "-c", "core.hooksPath=/dev/null", *options, *args]
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
    return _clones() / str(service.pk)


def _clones() -> Path:
    return Path(settings.DATA_DIR) / "repositories"


def _lock_file(target: Path) -> Path:
    return target.with_name(f"{target.name}.lock")


def _still_linked(fh, path: Path) -> bool:
    """Return True when `path` is still the lock file `fh` opened (remove_clone unlinks it under the lock)."""
    try:
        return os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _locked(path: Path, deadline: float) -> Iterator[None]:
    while True:
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
                if not _still_linked(fh, path):
                    continue  # the clone was removed while we waited: lock the new file
                yield
                return
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def remove_clone(service_id: int) -> bool:
    """Delete the clone of service `service_id` and its lock file; return False when a job holds it.

    The lock is taken without waiting: a clone in use is left as it is (and logged), for `sweep_clones`.
    """
    target = _clones() / str(int(service_id))
    lock = _lock_file(target)
    partial = target.with_name(f"{target.name}.partial")
    if not any(p.exists() for p in (target, lock, partial)):
        return True
    try:
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("The clone %s is in use by a job; it is left for the nightly sweep.", target)
                return False
            try:
                for folder in (target, partial):
                    shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)  # under the lock: a waiting job sees it gone and locks anew
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        log.warning("Could not remove the clone %s.", target, exc_info=True)
        return False
    return not target.exists()


def sweep_clones() -> int:
    """Remove the clones whose service is gone or no longer has a git URL; return how many were removed."""
    from .models import Service

    folder = _clones()
    if not folder.is_dir():
        return 0
    ids = {int(m["id"]) for m in map(_CLONE_NAME.match, os.listdir(folder)) if m}
    if not ids:
        return 0
    remote = {
        pk
        for pk, location in Service.objects.filter(pk__in=ids).values_list("pk", "repository")
        if is_remote(location)
    }
    return sum(remove_clone(pk) for pk in sorted(ids - remote))


def _on_service_saving(sender, instance, raw=False, update_fields=None, **kwargs):
    """Remember the repository a service had before this save."""
    if raw or instance.pk is None or (update_fields is not None and "repository" not in update_fields):
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list("repository", flat=True).first()
    instance._repository_before = old


def _on_service_saved(sender, instance, raw=False, using=None, **kwargs):
    """Remove the clone once the change commits when the service's repository changed."""
    old = instance.__dict__.pop("_repository_before", None)
    if raw or old is None or old.strip() == (instance.repository or "").strip():
        return
    pk = instance.pk
    transaction.on_commit(lambda: remove_clone(pk), using=using)


def _on_service_deleted(sender, instance, using=None, **kwargs):
    """Remove the clone once the deletion commits (never when it rolls back)."""
    pk = instance.pk
    transaction.on_commit(lambda: remove_clone(pk), using=using)


def connect_signals() -> None:
    """Connect the clean-up of clones to the Service model's signals (called once, from core.signals)."""
    from django.db.models.signals import post_delete, post_save, pre_save

    pre_save.connect(_on_service_saving, sender="core.Service", dispatch_uid="repositories-saving")
    post_save.connect(_on_service_saved, sender="core.Service", dispatch_uid="repositories-saved")
    post_delete.connect(_on_service_deleted, sender="core.Service", dispatch_uid="repositories-deleted")


def _update(url: str, target: Path, protocols: list[str], deadline: float, options: list[str]) -> None:
    env = _env(protocols)
    if (target / ".git").is_dir():
        _git(["remote", "set-url", "origin", url], env=env, deadline=deadline, cwd=target)
    else:
        shutil.rmtree(target, ignore_errors=True)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            # A full clone: history scans read every commit, a blob-less clone would fetch them one by one.
            _git(
                ["clone", "--no-checkout", "--quiet", "--", url, str(partial)],
                env=env,
                deadline=deadline,
                options=options,
            )
        except RepositoryError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        partial.rename(target)
    _git(["fetch", "--prune", "--quiet", "origin"], env=env, deadline=deadline, cwd=target, options=options)
    try:
        _git(
            ["remote", "set-head", "origin", "--auto"],
            env=env,
            deadline=deadline,
            cwd=target,
            options=options,
        )
    except _TimedOut:
        raise
    except RepositoryError:
        raise RepositoryError(
            "The repository has no default branch (is it empty?). Push a branch to it and scan again."
        ) from None
    _git(["reset", "--hard", "--quiet", "origin/HEAD"], env=env, deadline=deadline, cwd=target)
    _git(["clean", "-ffdxq"], env=env, deadline=deadline, cwd=target)


@contextlib.contextmanager
def checkout(service) -> Iterator[Path]:
    """Yield the service's repository as a local folder; raise RepositoryError saying what to do.

    A local path is yielded as it is (absolute, a folder, inside KEEPWELL_REPOSITORY_ROOTS when set). A git
    URL is cloned or fetched into DATA_DIR/repositories/<service id> and reset to the remote's default branch;
    the clone is locked for the service until the block ends.
    """
    location = (service.repository or "").strip()
    if not is_remote(location):
        yield local_path(service)
        return
    protocols, options = _check(location)
    deadline = time.monotonic() + timeout()
    target = clone_dir(service)
    with _locked(_lock_file(target), deadline):
        _update(location, target, protocols, deadline, options)
        yield target


def _check_branch(branch: str) -> None:
    if not _BRANCH.match(branch) or ".." in branch or branch.endswith((".lock", "/", ".")):
        raise RepositoryError(f"{branch[:200]!r} is not a branch name keepwell pushes.")


def push_branch(service, folder: Path, branch: str) -> str:
    """Push `branch` of the repository in `folder` to the same branch of the service's git URL.

    Return the redacted URL; raise RepositoryError (with git's redacted reason) when the remote refuses or
    cannot be reached. The URL is checked (and pinned) as for a fetch.
    """
    _check_branch(branch)
    location = (service.repository or "").strip()
    if not is_remote(location):
        raise RepositoryError(
            f"The repository of {service.name} is not a git URL; there is no remote to push to."
        )
    protocols, options = _check(location)
    deadline = time.monotonic() + timeout()
    ref = f"refs/heads/{branch}"
    try:
        _git(
            ["push", "--quiet", "--no-verify", "--", location, f"{ref}:{ref}"],
            env=_env(protocols),
            deadline=deadline,
            cwd=folder,
            options=options,
        )
    except _TimedOut:
        raise RepositoryError(
            f"Pushing the branch {branch} took longer than {timeout():g} s and was stopped. Check that the "
            "remote is reachable from the hub, or raise KEEPWELL_REPOSITORY_TIMEOUT."
        ) from None
    return redact(location)


def copy_clone(folder: Path, target: Path) -> None:
    """Clone the hub's clone in `folder` into the new folder `target` (objects hard-linked, so it is quick).

    Work that runs long on a repository (an update proposal runs the service's tests) does it in such a copy,
    so it holds the clone's lock only while the clone is fetched and copied, not while the tests run.
    """
    _git(
        ["clone", "--quiet", "--local", "--", str(folder), str(target)],
        env=_env(["file"]),
        deadline=time.monotonic() + timeout(),
    )
