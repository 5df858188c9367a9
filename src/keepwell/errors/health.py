"""Release health: crash-free sessions and users of a release, from the sessions the SDKs report.

`rates()` is the arithmetic (pure); `release_health(service, version)` reads the stored sessions and is
what the releases app calls to judge a deploy.
"""

from dataclasses import dataclass, field


@dataclass
class Tally:
    """Sessions of one release: how many, how they ended, and which users had them."""

    sessions: int = 0
    errored: int = 0
    abnormal: int = 0
    crashed: int = 0
    users: set = field(default_factory=set)
    crashed_users: set = field(default_factory=set)

    def add(self, status: str, count: int = 1, user: str = "") -> None:
        """Count `count` sessions that ended as `status` (ok, exited, errored, abnormal, crashed)."""
        self.sessions += count
        if status in ("errored", "abnormal", "crashed"):
            setattr(self, status, getattr(self, status) + count)
        if user:
            self.users.add(user)
            if status == "crashed":
                self.crashed_users.add(user)


def _percent(bad: int, total: int) -> float | None:
    return None if total == 0 else round(100.0 * (total - bad) / total, 3)


def rates(tally: Tally) -> dict:
    """Return the counts and crash-free percentages (None when there is nothing to judge by)."""
    return {
        "sessions": tally.sessions,
        "errored": tally.errored,
        "abnormal": tally.abnormal,
        "crashed": tally.crashed,
        "users": len(tally.users),
        "crashed_users": len(tally.crashed_users),
        "crash_free_sessions": _percent(tally.crashed, tally.sessions),
        "crash_free_users": _percent(len(tally.crashed_users), len(tally.users)),
    }


def session_status(status: str, errors: int) -> str:
    """Return how an individually reported session ended: crashed, abnormal, errored or ok."""
    if status in ("crashed", "abnormal"):
        return status
    return "errored" if errors > 0 else "ok"


def release_health(service, version: str, environment: str | None = None) -> dict:
    """Return the release's crash-free sessions and users (percentages) and the counts behind them."""
    from .models import ReleaseSession, SessionBucket

    tally = Tally()
    sessions = ReleaseSession.objects.filter(service=service, release=version)
    buckets = SessionBucket.objects.filter(service=service, release=version)
    if environment is not None:
        sessions = sessions.filter(environment=environment)
        buckets = buckets.filter(environment=environment)
    for status, errors, did in sessions.values_list("status", "errors", "distinct_id").iterator():
        tally.add(session_status(status, errors), 1, did)
    for row in buckets.values("exited", "errored", "abnormal", "crashed", "distinct_id").iterator():
        for status in ("exited", "errored", "abnormal", "crashed"):
            if row[status]:
                tally.add(status, row[status], row["distinct_id"])
    return {"release": version, "environment": environment, **rates(tally)}
