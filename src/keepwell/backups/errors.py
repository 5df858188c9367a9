"""BackupError, and how restic's exit codes and messages map to its kinds and to plain advice."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keepwell.backups.restic import ResticInfo

KINDS = (
    "missing-restic",
    "wrong-password",
    "no-repository",
    "locked",
    "unreachable",
    "disk-full",
    "corrupt",
    "source",
    "failed",
)


class BackupError(Exception):
    """A backup, restore, check or drill failed; `kind` says how and `message` what to do."""

    def __init__(self, kind: str, message: str, *, output: str = ""):
        if kind not in KINDS:
            raise ValueError(f"unknown BackupError kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.output = output

    def __str__(self) -> str:
        return self.message


def classify(
    stderr: str, returncode: int, *, info: ResticInfo | None = None, location: str = ""
) -> BackupError:
    """Turn restic's exit code and error output into a BackupError with a plain message."""
    text = stderr or ""
    low = text.lower()
    where = f" ({location})" if location else ""
    tail = _tail(text)
    exit_codes = info is not None and "exit-codes" in info.features
    if (exit_codes and returncode == 12) or "wrong password" in low or "no key found" in low:
        return BackupError(
            "wrong-password",
            f"restic could not open the repository{where}: the password is wrong. Enter the password the "
            "repository was created with.",
            output=text,
        )
    if (
        (exit_codes and returncode == 11)
        or "repository is already locked" in low
        or "unable to create lock" in low
    ):
        return BackupError(
            "locked",
            f"The repository{where} is locked by another restic process ({_lock_holder(text)}). Wait for it "
            "to finish; a lock left by a process that died is removed by the stale-lock policy.",
            output=text,
        )
    if "no space left on device" in low or "disk quota exceeded" in low:
        return BackupError(
            "disk-full",
            f"The disk holding the repository{where} (or restic's cache or temporary directory) is full. "
            "Free space or move the repository, then run the backup again; restic check will confirm the "
            "repository is intact.",
            output=text,
        )
    if _unreachable(low):
        return BackupError(
            "unreachable",
            f"restic could not reach the repository{where}: {_first_fatal(text)}. Check the address, the "
            "network, the server and the credentials.",
            output=text,
        )
    if (exit_codes and returncode == 10) or "is there a repository at the following location" in low:
        return BackupError(
            "no-repository",
            f"There is no restic repository at {location or 'that location'}. Initialize it first "
            "(keepwell does this when a plan is created), or correct the location.",
            output=text,
        )
    if returncode < 0:
        return BackupError(
            "failed",
            f"restic was stopped by signal {-returncode} before it finished{where}. Nothing is lost: run it "
            "again; a lock it left behind is removed by the stale-lock policy.",
            output=text,
        )
    if _corrupt(low):
        return BackupError(
            "corrupt",
            f"The repository{where} is damaged: {_first_corrupt(text)}. Run restic check to see what is "
            "affected, then restic repair (restic 0.16+) or restore the repository from a copy.",
            output=text,
        )
    return BackupError("failed", f"restic failed (exit {returncode}): {tail}", output=text)


_UNREACHABLE = (
    "connection refused",
    "no such host",
    "dial tcp",
    "i/o timeout",
    "network is unreachable",
    "connection reset",
    "unable to start the sftp session",
    "ssh: connect to host",
    "ssh: could not resolve",
    "permission denied (publickey",
    "host key verification failed",
    "tls: ",
    "x509:",
    "context deadline exceeded",
    "server response unexpected",
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "access denied",
)


def _unreachable(low: str) -> bool:
    return any(marker in low for marker in _UNREACHABLE)


_CORRUPT = (
    "ciphertext verification failed",
    "repository contains errors",
    "pack file cannot be listed",
    "unexpected end of",
    "invalid data returned",
    "does not match",
    "hash mismatch",
    "is damaged",
    "not found in index",
    "unable to load",
    "load(<data/",
)


def _corrupt(low: str) -> bool:
    return any(marker in low for marker in _CORRUPT)


def _first_corrupt(text: str) -> str:
    found = [
        line.strip() for line in text.splitlines() if _corrupt(line.lower()) and not line.startswith("Fatal:")
    ]
    fatal = _first_fatal(text)
    return f"{found[0][:300]} ({fatal})" if found else fatal


def _first_fatal(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("Fatal:"):
            return line[len("Fatal:") :].strip()
    return _tail(text)


def _lock_holder(text: str) -> str:
    parts = []
    holder = re.search(r"locked (?:exclusively )?by (PID \d+ on \S+(?: by \S+)?)", text)
    if holder:
        parts.append(holder[1])
    created = re.search(r"lock was created at ([^\n]*)", text)
    if created:
        parts.append(f"created at {created[1].strip()}")
    return ", ".join(parts) or "holder unknown"


def _tail(text: str, limit: int = 600) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    joined = " / ".join(lines[-6:])
    return joined[-limit:] if joined else "no error output"
