"""Read an Alertmanager webhook (payload version 4) into alerts keepwell can record; no Django here.

Alertmanager posts one JSON object per notification of a group:

    {"version": "4", "groupKey": "...", "status": "firing", "receiver": "keepwell",
     "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "severity": "critical"},
                 "annotations": {"summary": "p99 above 2 s"}, "startsAt": "...", "endsAt": "...",
                 "generatorURL": "...", "fingerprint": "c0ffee..."}], ...}

`parse` refuses anything else with a ValueError whose message says what is wrong, so the hook can answer 400.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_VALUE = 10_000
MAX_KEY = 255  # a finding's key
MAX_DEPTH_HINT = "labels and annotations must map names to strings"

# labels.severity -> a finding's severity; anything else is a warning.
SEVERITIES = {
    "critical": "critical",
    "crit": "critical",
    "error": "critical",
    "page": "critical",
    "high": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "alert": "critical",
    "disaster": "critical",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "average": "warning",
    "info": "info",
    "informational": "info",
    "notice": "info",
    "low": "info",
    "none": "info",
    "debug": "info",
}


@dataclass(frozen=True)
class Alert:
    status: str  # "firing" or "resolved"
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def severity(self) -> str:
        """Return info, warning or critical from labels.severity (warning when absent or unknown)."""
        return SEVERITIES.get(self.labels.get("severity", "").strip().lower(), "warning")

    @property
    def title(self) -> str:
        """Return "alertname: summary" (or whichever of the two there is)."""
        name = self.labels.get("alertname", "").strip() or "Alert"
        summary = (self.annotations.get("summary") or self.annotations.get("message") or "").strip()
        title = f"{name}: {summary}" if summary else name
        return " ".join(title.split())[:300]

    @property
    def detail(self) -> str:
        """Return the description, the labels and the source link as plain text."""
        lines = []
        description = self.annotations.get("description", "").strip()
        if description:
            lines += [description, ""]
        lines += [f"{k}={v}" for k, v in sorted(self.labels.items())]
        for key, value in sorted(self.annotations.items()):
            if key not in ("summary", "description"):
                lines.append(f"{key}: {value}")
        if self.starts_at:
            lines.append(f"Started: {self.starts_at.isoformat()}")
        if self.generator_url:
            lines.append(f"Source: {self.generator_url}")
        return "\n".join(lines)[:MAX_VALUE]


@dataclass(frozen=True)
class Notification:
    status: str
    receiver: str
    group_key: str
    alerts: list[Alert] = field(default_factory=list)


def parse(body: bytes) -> Notification:
    """Return the notification in `body`, or raise ValueError saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"The body is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise ValueError("The body must be a JSON object (an Alertmanager webhook payload).")
    version = data.get("version")
    if version != "4":
        raise ValueError(
            f'Unsupported payload version {version!r}: keepwell reads Alertmanager webhook version "4".'
        )
    status = data.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise ValueError(f"status must be 'firing' or 'resolved', not {_short(status)}.")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise ValueError("alerts must be a list of alerts.")
    if len(alerts) > MAX_ALERTS:
        raise ValueError(f"Too many alerts in one notification ({len(alerts)}; at most {MAX_ALERTS}).")
    return Notification(
        status=status,
        receiver=_text(data.get("receiver", ""), "receiver"),
        group_key=_text(data.get("groupKey", ""), "groupKey"),
        alerts=[_alert(a, i) for i, a in enumerate(alerts)],
    )


def _alert(data, i: int) -> Alert:
    where = f"alerts[{i}]"
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object.")
    status = data.get("status")
    if status not in ("firing", "resolved"):
        raise ValueError(f"{where}.status must be 'firing' or 'resolved', not {_short(status)}.")
    labels = _mapping(data.get("labels", {}), f"{where}.labels")
    annotations = _mapping(data.get("annotations", {}), f"{where}.annotations")
    fingerprint = _text(data.get("fingerprint", ""), f"{where}.fingerprint").strip()
    if not fingerprint:
        # Alertmanager always sends one; other senders of the format may not: derive it from the labels.
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    if len(fingerprint) > MAX_KEY:
        raise ValueError(f"{where}.fingerprint is longer than {MAX_KEY} characters.")
    return Alert(
        status=status,
        fingerprint=fingerprint,
        labels=labels,
        annotations=annotations,
        starts_at=_time(data.get("startsAt"), f"{where}.startsAt"),
        ends_at=_time(data.get("endsAt"), f"{where}.endsAt"),
        generator_url=_text(data.get("generatorURL", ""), f"{where}.generatorURL")[:2000],
    )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _clean(text: str) -> str:
    # PostgreSQL stores no NUL characters in text.
    return text.replace("\x00", "")


def _text(value, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string.")
    if len(value) > MAX_VALUE:
        raise ValueError(f"{where} is longer than {MAX_VALUE} characters.")
    return _clean(value)


def _mapping(value, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object ({MAX_DEPTH_HINT}).")
    if len(value) > MAX_LABELS:
        raise ValueError(f"{where} has more than {MAX_LABELS} entries.")
    out = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise ValueError(f"{where}.{_clean(key)[:50]} must be a string ({MAX_DEPTH_HINT}).")
        out[_text(key, where)] = _text(item, f"{where}.{_clean(key)[:50]}")
    return out


def _time(value, where: str) -> datetime | None:
    """Return an RFC 3339 time as an aware datetime; None for absent or Go's zero time."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(f"{where} must be an RFC 3339 time such as 2030-01-31T22:00:00Z.")
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None  # Go's zero time: Alertmanager's "not ended yet"
    # Python before 3.11's fromisoformat reads at most microseconds: Go sends nanoseconds.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = head + "." + tail[: min(digits, 6)].ljust(6, "0") + tail[digits:]
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where} must be an RFC 3339 time such as 2030-01-31T22:00:00Z.") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{where} must give a time zone, e.g. 2030-01-31T22:00:00Z.")
    return parsed.astimezone(UTC)
