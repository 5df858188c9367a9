"""What a prober is given and what it hands back, their JSON form for remote probers, and the names of the
places probers run. Pure: no Django."""

import re
from dataclasses import dataclass
from datetime import datetime

LOCATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
LOCAL = "local"  # the hub's own probers' location


def clean_location(value: str) -> str:
    """Return a remote prober's location name, stripped, or raise ValueError saying what is wrong."""
    value = (value or "").strip()
    if not LOCATION.match(value):
        raise ValueError(
            f"{value!r} is not a location name: use 1 to 100 letters, digits, spaces, dots, hyphens or "
            "underscores, e.g. frankfurt."
        )
    if value == LOCAL:
        raise ValueError("'local' is the hub's own location; name the remote one, e.g. frankfurt.")
    return value


@dataclass
class Assignment:
    """One check a prober must run: what to check and when."""

    id: int
    kind: str
    target: str
    config: dict
    timeout: float
    interval: int
    due: datetime


@dataclass
class Outcome:
    """What one check found, and when it was due and started (for the next due time and the lag)."""

    id: int
    ok: bool
    due: datetime
    started: datetime
    latency_ms: int | None = None
    status_code: int | None = None
    error: str = ""


def assignment_to_json(a: Assignment) -> dict:
    return {
        "id": a.id,
        "kind": a.kind,
        "target": a.target,
        "config": a.config,
        "timeout": a.timeout,
        "interval": a.interval,
        "due": a.due.isoformat(),
    }


def assignment_from_json(data: dict) -> Assignment:
    return Assignment(
        id=int(data["id"]),
        kind=str(data["kind"]),
        target=str(data["target"]),
        config=dict(data.get("config") or {}),
        timeout=float(data["timeout"]),
        interval=int(data["interval"]),
        due=datetime.fromisoformat(data["due"]),
    )


def outcome_to_json(o: Outcome) -> dict:
    return {
        "id": o.id,
        "ok": o.ok,
        "due": o.due.isoformat(),
        "started": o.started.isoformat(),
        "latency_ms": o.latency_ms,
        "status_code": o.status_code,
        "error": o.error,
    }
