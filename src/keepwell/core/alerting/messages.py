"""What a notification says: the events, subjects and bodies. No Django here.

A finding is handed in as a plain dict with the keys of the webhook payload (id, service, source, key,
title, severity, state, url, acknowledge_url, resolve_url).
"""

from collections import Counter

# Every event a notification can be about. The manual (docs/alerting.md) documents each one.
EVENTS = {
    "opened": "A new finding opened.",
    "reopened": "A resolved finding came back.",
    "escalated": "A finding's severity was raised (for example from warning to critical).",
    "resolved": "A finding you were told about was resolved (when the rule notifies on resolve).",
    "renotify": "A reminder: a finding is still open, not acknowledged and not snoozed.",
    "unacknowledged": "Escalation: a finding stayed unacknowledged too long; sent to the escalation channels.",
    "test": "A test message from the channel's Send test button.",
}

# Events that tell of a problem (as opposed to its end); a resolve is only sent after one of these.
PROBLEM_EVENTS = ("opened", "reopened", "escalated", "renotify", "unacknowledged")

SEVERITY_ORDER = ("critical", "warning", "info")
BODY_LIMIT = 20  # findings listed in a message body; the webhook payload carries more

_ONE = {
    "opened": "New {severity} finding",
    "reopened": "Re-opened {severity} finding",
    "escalated": "Now {severity}",
    "resolved": "Resolved",
    "renotify": "Still open ({severity})",
    "unacknowledged": "Unacknowledged ({severity})",
}
_MANY = {
    "opened": "{n} new findings in {org}",
    "reopened": "{n} findings re-opened in {org}",
    "escalated": "{n} findings raised in severity in {org}",
    "resolved": "{n} findings resolved in {org}",
    "renotify": "Reminder: {n} findings still open in {org}",
    "unacknowledged": "{n} findings still unacknowledged in {org}",
}


def severity_summary(findings: list[dict]) -> str:
    """Return e.g. "2 critical, 1 warning", most severe first."""
    counts = Counter(f["severity"] for f in findings)
    return ", ".join(f"{counts[s]} {s}" for s in SEVERITY_ORDER if counts[s])


def subject(event: str, organization: str, findings: list[dict]) -> str:
    """Return the one-line subject for a notification about `findings`."""
    if not findings:
        return f"{organization}: nothing left to report"
    if len(findings) == 1:
        f = findings[0]
        head = _ONE.get(event, event.capitalize()).format(severity=f["severity"])
        return f"{head} in {organization} / {f['service']}: {f['title']}"[:300]
    text = _MANY.get(event, "{n} findings in {org}").format(n=len(findings), org=organization)
    if event == "resolved":
        return text
    return f"{text}: {severity_summary(findings)}"[:300]


def body(event: str, organization: str, findings: list[dict]) -> str:
    """Return the plain-text body: each finding with its links, at most BODY_LIMIT of them."""
    lines = [EVENTS.get(event, ""), ""]
    for f in findings[:BODY_LIMIT]:
        lines.append(f"[{f['severity']}] {f['service']}: {f['title']} ({f['source']}, {f['state']})")
        if f.get("url"):
            lines.append(f"  Open: {f['url']}")
        if event != "resolved" and f.get("state") != "resolved":
            if f.get("state") == "open" and f.get("acknowledge_url"):
                lines.append(f"  Acknowledge: {f['acknowledge_url']}")
            if f.get("resolve_url"):
                lines.append(f"  Resolve: {f['resolve_url']}")
        lines.append("")
    if len(findings) > BODY_LIMIT:
        lines.append(f"... and {len(findings) - BODY_LIMIT} more in {organization}'s findings inbox.")
    return "\n".join(lines).strip() + "\n"
